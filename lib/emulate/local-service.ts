/**
 * A stand-in for one AWS JSON-protocol operation on 127.0.0.1 (the emulator's PutEvents and
 * GetSecretValue endpoints): the real SDK clients, pointed here through AWS_ENDPOINT_URL_*, sign and
 * send their requests as deployed. Started once per process, never keeping the process alive.
 */
import { createServer } from "node:http";

/** What one request gets back: a status and the JSON body (errors as `{ __type, message }`). */
export interface LocalReply {
  status: number;
  body: unknown;
}

/** Starts a server answering `operation` (the `X-Amz-Target` suffix) with `handle(parsed body)`; resolves to its URL. */
export function startLocalService(operation: string, handle: (request: Record<string, unknown>) => LocalReply): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const send = ({ status, body }: LocalReply) => {
          res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify(body));
        };
        const target = String(req.headers["x-amz-target"] ?? "");
        if (!target.endsWith(operation)) {
          send({ status: 400, body: { __type: "UnknownOperationException", message: `The flowhooks emulator serves ${operation} only, not ${target}.` } });
          return;
        }
        let request: Record<string, unknown>;
        try {
          request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
        } catch {
          send({ status: 400, body: { __type: "ValidationException", message: "Body is not JSON." } });
          return;
        }
        send(handle(request));
      });
    });
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      s.unref();
      const address = s.address() as { port: number };
      resolve(`http://127.0.0.1:${address.port}`);
    });
  });
}
