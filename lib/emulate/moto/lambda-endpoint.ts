/**
 * The port moto's Step Functions calls for Lambda (its MOTO_PORT), served here on 127.0.0.1: an
 * invocation (`POST /2015-03-31/functions/{name}/invocations`) runs the bundled task Lambda through
 * the Lambda host and answers as Lambda's Invoke API does (a function error as `X-Amz-Function-Error`
 * with the error document); every other request is forwarded to moto's own port unchanged.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { InvocationOutcome } from "../lambda";

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations/;

/** Runs one invocation of function `name` (as the state machine named it) with `payload`. */
export type Invoker = (name: string, payload: unknown) => Promise<InvocationOutcome | undefined>;

export interface LambdaEndpoint {
  readonly port: number;
  /** Where invocations go (one execution's Lambda host at a time). */
  invoker: Invoker | undefined;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** An invocation, answered as Lambda's Invoke API answers (RequestResponse). */
async function invoke(endpoint: LambdaEndpoint, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = (await readBody(req)).toString("utf8");
  const payload = text === "" ? {} : (JSON.parse(text) as unknown);
  const outcome = await endpoint.invoker?.(name, payload);
  if (!outcome) return answer(res, 404, { Type: "User", Message: `Function not found: ${name}` }, { "x-amzn-errortype": "ResourceNotFoundException" });
  if (outcome.ok) return answer(res, 200, outcome.payload, { "x-amz-executed-version": "$LATEST" });
  // Lambda reports a function error with status 200: the error document and this header.
  answer(res, 200, { errorType: outcome.errorType, errorMessage: outcome.errorMessage, trace: outcome.trace }, { "x-amz-function-error": "Unhandled", "x-amz-executed-version": "$LATEST" });
}

/** Sends the request on to moto's port as it came. */
function forward(motoPort: number, req: IncomingMessage, res: ServerResponse): void {
  const upstream = httpRequest({ host: "127.0.0.1", port: motoPort, method: req.method, path: req.url, headers: req.headers }, (reply) => {
    res.writeHead(reply.statusCode ?? 502, reply.headers);
    reply.pipe(res);
  });
  upstream.on("error", (error) => answer(res, 502, { message: `moto's server did not answer: ${error.message}` }));
  req.pipe(upstream);
}

/** Listens on `port` (127.0.0.1; a free one when 0) until closed; `motoPort` is where other requests go. */
export async function startLambdaEndpoint(port: number, motoPort: () => number): Promise<LambdaEndpoint> {
  const endpoint: LambdaEndpoint = { port, invoker: undefined, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const match = req.method === "POST" ? INVOKE_PATH.exec(req.url ?? "") : null;
    if (!match) return forward(motoPort(), req, res);
    invoke(endpoint, decodeURIComponent(match[1]!), req, res).catch((error: unknown) =>
      answer(res, 500, { Type: "Service", Message: String(error) }, { "x-amzn-errortype": "ServiceException" }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address === "object" && address) (endpoint as { port: number }).port = address.port;
  endpoint.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return endpoint;
}
