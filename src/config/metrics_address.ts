/**
 * The address of a metrics endpoint (`metrics_listen`, serve's and drive's):
 * `HOST:PORT` (`[::1]:9464` for IPv6) checked against the exposure rule: a
 * non-loopback host needs `metrics_insecure: true`, because the endpoint is
 * plain HTTP and tells whoever reaches it the function names and the load.
 *
 * @module
 */
import { ConfigError } from "./setting.ts";
import { isLoopback } from "./serve_listeners.ts";

export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
  /** True when the host is not loopback (allowed only with metrics_insecure; the caller warns). */
  readonly exposed: boolean;
}

/** Parses and checks `value` of `key`; throws a ConfigError naming the key and what is wrong. */
export function metricsAddress(value: string, insecure: boolean, key = "metrics_listen"): MetricsAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(`${key}: expected HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464), got ${JSON.stringify(value)}`);
  }
  const host = m[1] ?? m[2]!;
  const exposed = !isLoopback(host);
  if (exposed && !insecure) {
    throw new ConfigError(
      `${key}: ${host} is not a loopback address; the metrics endpoint is plain HTTP, so set metrics_insecure: true to expose it anyway`,
    );
  }
  return { host, port, exposed };
}
