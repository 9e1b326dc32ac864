/**
 * `gearbox serve`'s rows for its HTTP endpoint of metrics and health
 * (`/metrics`, `/health`, `/ready`; src/server/metrics_endpoint.ts). Off
 * unless `metrics_listen` is set; a non-loopback address is refused unless
 * `metrics_insecure` says the network may read it. Part of SERVE_OPTIONS
 * (serve_options.ts), in its order.
 *
 * @module
 */
import type { Setting } from "./setting.ts";

export const METRICS_ROWS = [
  {
    key: "metrics_listen",
    type: "string",
    default: "",
    arg: "<host:port>",
    help:
      "serve Prometheus metrics (/metrics), /health and /ready over HTTP on this address (port 0 picks a free one); empty = off; loopback only unless metrics_insecure",
  },
  {
    key: "metrics_insecure",
    type: "boolean",
    default: false,
    help: "allow metrics_listen on a non-loopback address: plain HTTP, readable by anyone who reaches it (a warning is logged)",
  },
] as const satisfies readonly Setting[];
