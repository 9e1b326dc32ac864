/**
 * A small HTTP server for the metrics and health endpoints: `node:http` on
 * every runtime (Bun and Deno implement it; a scrape every few seconds
 * needs none of Bun.serve's speed, and one code path is one to test). A
 * request is reduced to its method and path; the handler's answer is sent
 * whole, without a body for HEAD.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface HttpRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

export interface HttpListener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting and closes idle keep-alive connections. */
  close(): Promise<void>;
}

export type HttpHandler = (request: HttpRequest) => HttpAnswer | Promise<HttpAnswer>;

/** Listens on `host:port` (0 = a free port); rejects with the listen error (EADDRINUSE...). */
export function serveHttp(host: string, port: number, handle: HttpHandler): Promise<HttpListener> {
  const server = createServer((req, res) => void answer(req, res, handle));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : port;
      resolve({
        host,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}

async function answer(req: IncomingMessage, res: ServerResponse, handle: HttpHandler): Promise<void> {
  const method = req.method ?? "GET";
  const path = (req.url ?? "/").split("?")[0]!;
  let a: HttpAnswer;
  try {
    a = await handle({ method, path });
  } catch (e) {
    a = { status: 500, body: `internal error: ${(e as Error).message}\n` };
  }
  const body = Buffer.from(a.body, "utf8");
  res.writeHead(a.status, {
    "content-type": a.contentType ?? "text/plain; charset=utf-8",
    "content-length": String(body.length),
    ...a.headers,
  });
  res.end(method === "HEAD" ? undefined : body);
}
