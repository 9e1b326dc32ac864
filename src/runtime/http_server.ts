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
  /** Parts are written one at a time, waiting for the socket to drain, so a big page never becomes one string. */
  readonly body: string | readonly string[];
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

/** Resolves when `res` can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done).off("close", done);
      resolve();
    };
    res.on("drain", done).on("close", done);
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
  const headers: Record<string, string> = { "content-type": a.contentType ?? "text/plain; charset=utf-8", ...a.headers };
  // A string's length is known at once; parts go out chunked, so no turn measures (or joins) the whole page.
  if (typeof a.body === "string") headers["content-length"] = String(Buffer.byteLength(a.body, "utf8"));
  res.writeHead(a.status, headers);
  if (method === "HEAD") return void res.end();
  for (const part of typeof a.body === "string" ? [a.body] : a.body) {
    if (res.destroyed) return;
    // One part per turn: Bun's node:http buffers whatever it is given, so waiting for `drain` alone could send 60 MB in one turn.
    if (!res.write(part)) await drained(res);
    else await new Promise((r) => setImmediate(r));
  }
  res.end();
}
