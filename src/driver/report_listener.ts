/**
 * The loopback socket worker processes report to (job start and end, a
 * retirement after a timeout), one JSON line per report, never over stdout
 * (`child.ts`). A connection counts only once it said hello with this
 * driver's token; its reports are then the process it named.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { LineSplitter } from "../runtime/line_splitter.ts";
import { listen, type NetListener } from "../runtime/net.ts";
import type { ChildReport } from "./job_definition.ts";

export class ReportListener {
  /** The secret a child says hello with (it gets it in its spec). */
  readonly token: string;
  readonly #listener: NetListener;

  private constructor(listener: NetListener, token: string) {
    this.#listener = listener;
    this.token = token;
  }

  /** Listens on a free loopback port; `onReport` gets every report of a process that said hello with the token. */
  static async start(onReport: (pid: number, r: ChildReport) => void): Promise<ReportListener> {
    const token = randomBytes(16).toString("hex");
    const listener = await listen({ host: "127.0.0.1", port: 0 }, (socket) => {
      let pid: number | undefined;
      const lines = new LineSplitter((line) => {
        let r: ChildReport;
        try {
          r = JSON.parse(line);
        } catch {
          return;
        }
        if (r.event === "hello") pid = r.token === token ? r.pid : undefined;
        if (pid !== undefined) onReport(pid, r);
      }, { maxLine: 65536, onOverflow: () => socket.destroy() });
      socket.onData((chunk) => lines.push(chunk));
    });
    return new ReportListener(listener, token);
  }

  /** Where children report, as `host:port`. */
  get address(): string {
    return `127.0.0.1:${this.#listener.port}`;
  }

  close(): Promise<void> {
    return this.#listener.close();
  }
}
