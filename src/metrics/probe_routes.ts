/**
 * The routes of a metrics endpoint, serve's and drive's alike: `GET /metrics`
 * (the page the caller builds), `GET /health` (200: answering at all is the
 * proof the loop turns), `GET /ready` (200 when the caller says "ready", else
 * 503 with its reason). Other paths are 404, other methods 405; HEAD is a GET
 * whose body the HTTP adapter leaves out.
 *
 * @module
 */
import { CONTENT_TYPE } from "./exposition.ts";

/** What a route needs of a request (the HTTP adapter's request has these). */
export interface ProbeRequest {
  readonly method: string;
  readonly path: string;
}

/** An answer the HTTP adapter writes as it is. */
export interface ProbeAnswer {
  readonly status: number;
  readonly body: string | readonly string[];
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

/** What an endpoint answers with: its page, and "ready" or why not in words. */
export interface ProbeTarget {
  page(): string | readonly string[] | Promise<string | readonly string[]>;
  readiness(): string;
}

export async function probeAnswer(req: ProbeRequest, target: ProbeTarget): Promise<ProbeAnswer> {
  if (req.method !== "GET" && req.method !== "HEAD") return { status: 405, body: "only GET and HEAD\n", headers: { allow: "GET, HEAD" } };
  switch (req.path) {
    case "/metrics":
      return { status: 200, body: await target.page(), contentType: CONTENT_TYPE };
    case "/health":
      return { status: 200, body: "ok\n" };
    case "/ready": {
      const why = target.readiness();
      return { status: why === "ready" ? 200 : 503, body: `${why}\n` };
    }
    default:
      return { status: 404, body: "not found: try /metrics, /health or /ready\n" };
  }
}
