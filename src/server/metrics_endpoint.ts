/**
 * `gearbox serve`'s HTTP endpoint (`metrics_listen`): `GET /metrics` (the
 * Prometheus text format, metrics_page.ts), `GET /health` (200 while the
 * event loop turns: answering at all is the proof), `GET /ready` (200 once
 * the store is replayed and the job port listens; 503 while starting,
 * draining, stopping or while the store is unreachable, store_health.ts).
 * Other paths are 404, other methods 405. `GearboxServer.start` starts it
 * before the replay, so that `/ready` says 503 meanwhile; it closes when the
 * server stops.
 *
 * @module
 */
import { scheduleGauges } from "./schedule_admin.ts";
import { type MetricsAddress, metricsAddress } from "../config/metrics_address.ts";
import { probeAnswer } from "../metrics/probe_routes.ts";
import { type HttpListener, serveHttp } from "../runtime/http_server.ts";
import { MetricsPage } from "./metrics_page.ts";
import type { GearboxServer } from "./server.ts";

/** How often the event loop's delay is sampled (real time: it measures the loop, not the server's clock). */
const LAG_SAMPLE_MS = 250;

export class MetricsEndpoint {
  readonly #listener: HttpListener;
  readonly #lag: LoopLag;
  readonly page: MetricsPage;

  private constructor(listener: HttpListener, lag: LoopLag, page: MetricsPage) {
    this.#listener = listener;
    this.#lag = lag;
    this.page = page;
  }

  /** Listens on `address` for `server`; stops with it. A listen error (EADDRINUSE) rejects. */
  static async start(server: GearboxServer, address: MetricsAddress): Promise<MetricsEndpoint> {
    const lag = new LoopLag();
    const ready = () => readiness(server) === "ready";
    const page = new MetricsPage({
      view: server.core.view,
      now: () => server.clock.now(),
      stats: () => server.stats,
      ready,
      takeLag: () => lag.take(),
      schedules: () => scheduleGauges(server.schedules),
    });
    const listener = await serveHttp(
      address.host,
      address.port,
      (req) => probeAnswer(req, { page: () => page.build(), readiness: () => readiness(server) }),
    ).catch((e) => {
      lag.stop();
      throw e;
    });
    const endpoint = new MetricsEndpoint(listener, lag, page);
    if (address.exposed) {
      server.logger.warn("metrics endpoint on a non-loopback address, in plain HTTP (metrics_insecure)", { address: endpoint.address });
    } else server.logger.info("metrics endpoint listening", { address: endpoint.address });
    void server.done.then(() => endpoint.close());
    return endpoint;
  }

  get port(): number {
    return this.#listener.port;
  }

  get address(): string {
    const h = this.#listener.host;
    return `${h.includes(":") ? `[${h}]` : h}:${this.port}`;
  }

  close(): Promise<void> {
    this.#lag.stop();
    return this.#listener.close();
  }
}

/** The endpoint of `server.settings.metrics_listen`, listening; undefined when the setting is empty. */
export function startMetrics(server: GearboxServer): Promise<MetricsEndpoint | undefined> {
  const { metricsListen, metricsInsecure } = server.settings;
  if (metricsListen === "") return Promise.resolve(undefined);
  return MetricsEndpoint.start(server, metricsAddress(metricsListen, metricsInsecure));
}

/** "ready", or why not, in words (the body of a 503). */
export function readiness(server: GearboxServer): string {
  const phase = server.phase;
  if (phase === "starting") return "starting: the store is being replayed";
  if (phase !== "serving") return `${phase}: no new connections`;
  if (server.health.down) return "the store is unreachable";
  return "ready";
}

/** The largest delay of a repeating timer past its due time since the last `take`, in seconds. */
class LoopLag {
  #max = 0;
  #expected = performance.now() + LAG_SAMPLE_MS;
  readonly #timer = setInterval(() => {
    const t = performance.now();
    this.#max = Math.max(this.#max, t - this.#expected);
    this.#expected = t + LAG_SAMPLE_MS;
  }, LAG_SAMPLE_MS);

  constructor() {
    (this.#timer as { unref?: () => void }).unref?.();
  }

  take(): number {
    const v = Math.max(0, this.#max, performance.now() - this.#expected) / 1000;
    this.#max = 0;
    return v;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
