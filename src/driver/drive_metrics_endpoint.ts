/**
 * `gearbox drive`'s HTTP endpoint (`metrics_listen`, off unless set;
 * loopback unless `metrics_insecure`): `GET /metrics` (drive_metrics.ts, the
 * Prometheus text format), `GET /health` (200 while the event loop turns),
 * `GET /ready` (200 once the driver started its jobs; 503 while draining).
 * Other paths are 404, other methods 405.
 *
 * @module
 */
import { metricsAddress } from "../config/metrics_address.ts";
import type { Logger } from "../log/logger.ts";
import { probeAnswer } from "../metrics/probe_routes.ts";
import { type HttpListener, serveHttp } from "../runtime/http_server.ts";

export interface DriveEndpointTarget {
  metricsPage(): string;
  /** "ready", or why not in words. */
  readiness(): string;
}

/** Listens on `listen` (a ConfigError when it is not loopback and `insecure` is false); undefined when `listen` is empty. */
export async function startDriveMetrics(
  listen: string,
  insecure: boolean,
  target: DriveEndpointTarget,
  log: Logger,
): Promise<HttpListener | undefined> {
  if (listen === "") return undefined;
  const address = metricsAddress(listen, insecure);
  const listener = await serveHttp(
    address.host,
    address.port,
    (req) => probeAnswer(req, { page: () => target.metricsPage(), readiness: () => target.readiness() }),
  );
  const shown = `${address.host.includes(":") ? `[${address.host}]` : address.host}:${listener.port}`;
  if (address.exposed) log.warn("metrics endpoint on a non-loopback address, in plain HTTP (metrics_insecure)", { address: shown });
  else log.info("metrics endpoint listening", { address: shown });
  return listener;
}
