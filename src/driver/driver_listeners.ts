/**
 * The driver's listeners besides the report socket: the management console
 * (`console_port`, with TLS when `console_tls_cert` is set) and the metrics
 * endpoint (`metrics_listen`). Started together: when one cannot listen, the
 * other is closed again and the error goes up, naming the setting.
 *
 * @module
 */
import type { DriveSettings } from "../config/drive_options.ts";
import type { Logger } from "../log/logger.ts";
import type { HttpListener } from "../runtime/http_server.ts";
import type { NetListener } from "../runtime/net.ts";
import { readTlsFiles } from "../runtime/tls_files.ts";
import { type ConsoleTarget, startConsole } from "./console.ts";
import { type DriveEndpointTarget, startDriveMetrics } from "./drive_metrics_endpoint.ts";

export interface DriverListeners {
  console?: NetListener;
  metrics?: HttpListener;
}

/** `consoleWarning`: logged once the console listens (an exposed console). */
export async function startListeners(
  target: ConsoleTarget & DriveEndpointTarget,
  s: DriveSettings,
  log: Logger,
  consoleWarning: string | undefined,
): Promise<DriverListeners> {
  const out: DriverListeners = {};
  try {
    // console_port 0 turns the console off, as in Gearman::Driver; `auto` asks for a free port.
    if (s.consolePort !== 0) {
      const port = s.consolePort === "auto" ? 0 : s.consolePort;
      const tls = s.consoleTlsCert === "" ? undefined : readTlsFiles({ cert: s.consoleTlsCert, key: s.consoleTlsKey });
      out.console = await startConsole(target, { host: s.consoleHost, port, token: s.consoleToken, tls });
      if (consoleWarning) log.warn(consoleWarning);
    }
    out.metrics = await startDriveMetrics(s.metricsListen, s.metricsInsecure, target, log);
    return out;
  } catch (e) {
    await out.console?.close();
    throw e;
  }
}
