/**
 * A Lambda function URL stand-in: a real HTTP server on 127.0.0.1 that hands each request to a
 * function URL handler as the payload-format-2.0 event Lambda builds (raw body, lower-case headers).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from "aws-lambda";

export interface FunctionUrlServer {
  url: string;
  close(): Promise<void>;
}

export async function serveFunctionUrl(handler: (event: LambdaFunctionURLEvent) => Promise<LambdaFunctionURLResult>): Promise<FunctionUrlServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : (v ?? "")]));
      const event = { version: "2.0", rawPath: req.url ?? "/", headers, body: Buffer.concat(chunks).toString("utf8"), isBase64Encoded: false } as unknown as LambdaFunctionURLEvent;
      try {
        const result = (await handler(event)) as { statusCode?: number; body?: string; headers?: Record<string, string> };
        res.writeHead(result.statusCode ?? 200, result.headers ?? {});
        res.end(result.body ?? "");
      } catch (error) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`Internal Server Error: ${(error as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
