/**
 * A client for `gearbox drive`'s management console: one command, the
 * reply lines up to `.`, `ERR` lines as errors; `status json` and `events`
 * parsed. Used by `gearbox top` and by tools.
 *
 * @module
 */
import { AdminSession } from "./admin_session.ts";
import type { ClientTlsConfig } from "../runtime/tcp_dial.ts";
import { ClientError } from "./client_error.ts";
import { resolveTls, type TlsOptions } from "./tls_options.ts";

/** A driver's job as `status json` gives it. */
export interface DriverJob {
  name: string;
  functions: string[];
  kind: "command" | "module";
  min: number;
  max: number;
  current: number;
  /** `failing`: the job's processes are fine, but its last job failed. */
  state: "ok" | "failing" | "restarting" | "crash-loop";
  crashes: number;
  /** Jobs that failed since the last one that succeeded. */
  failures_in_row?: number;
  waiting: number;
  lastrun: number;
  lasterror: number;
  lasterror_msg: string;
  processes: {
    pid: number;
    state: string;
    started: number;
    uptime_ms: number;
    jobs_done: number;
    job: string | null;
    rss_bytes?: number | null;
  }[];
}

/**
 * One job run by a driven worker process, as the driver's flight recorder
 * keeps it (`runs JOB json`, `run HANDLE json`).
 */
export interface DriverRun {
  job: string;
  handle: string;
  function: string;
  /** The pid of what did the work: a command job's program, else the worker process. */
  pid: number;
  /** The worker process that ran the job (for a command job, the program's parent); absent in runs kept by older versions. */
  worker_pid?: number;
  /** ms since the epoch. */
  start: number;
  end: number | null;
  /** `running`; `complete`; `fail` (a throw, job.fail, a command's non-zero exit); `timeout`; `died` (the process exited during the run); `killed` (a signal ended it). */
  outcome: "running" | "complete" | "fail" | "timeout" | "died" | "killed";
  /** The job's exit status (a failure's), or the process's exit code when it died. */
  exit_status: number | null;
  signal: string | null;
  /** The peak resident memory of `pid` during the run, bytes (null where the system does not tell). */
  peak_rss_bytes: number | null;
  message: string | null;
  /** The last lines the process wrote during the run (bounded by run_output_bytes). */
  output: { stream: "stdout" | "stderr"; line: string }[];
}

/** Something the driver did (`events`). */
export interface DriverEvent {
  seq: number;
  at: number;
  job: string;
  kind: "scale" | "start" | "stop" | "died" | "crash-loop" | "timeout" | "console";
  text: string;
}

/**
 * The console of one driver.
 *
 * @example
 * ```ts
 * const driver = new DriverConsole({ address: "127.0.0.1:47300" });
 * for (const job of await driver.status()) console.log(job.name, job.current, job.state);
 * driver.close();
 * ```
 */
export class DriverConsole {
  readonly address: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #tls: ClientTlsConfig | undefined;
  #session: Promise<AdminSession> | undefined;

  /**
   * `address`: `host:port`, or `tls://host:port` for a console behind TLS; `tls`: TLS settings,
   * which make a `host:port` address TLS too.
   */
  constructor(options: { address: string; token?: string; timeoutMs?: number; tls?: TlsOptions }) {
    this.address = options.address;
    this.#tls = resolveTls(options.tls);
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Any command; resolves with its reply lines, rejects on `ERR`. */
  async command(line: string): Promise<string[]> {
    try {
      const session = await this.#open();
      const rows = await session.block(line);
      if (rows[0]?.startsWith("ERR ")) {
        throw new ClientError("SERVER_ERROR", `${this.address}: ${rows[0].slice(4)}`, rows[0].split(/[\s:]/)[1]);
      }
      return rows;
    } catch (e) {
      if (!(e instanceof ClientError && e.code === "SERVER_ERROR")) this.close();
      throw e;
    }
  }

  async status(): Promise<DriverJob[]> {
    const [line] = await this.command("status json");
    return (JSON.parse(line ?? "{}") as { jobs?: DriverJob[] }).jobs ?? [];
  }

  /** Events after `since` (a seq number), oldest first. */
  async events(since: number): Promise<DriverEvent[]> {
    return (await this.command(`events ${since}`)).map((l) => JSON.parse(l) as DriverEvent);
  }

  /** The job's last `n` runs (default: all kept), newest first. */
  async runs(job: string, n?: number): Promise<DriverRun[]> {
    const [line] = await this.command(`runs ${job}${n === undefined ? "" : ` ${n}`} json`);
    return JSON.parse(line ?? "[]") as DriverRun[];
  }

  /** One run by its job handle (the newest when a job was retried). */
  async run(handle: string): Promise<DriverRun> {
    const [line] = await this.command(`run ${handle} json`);
    return JSON.parse(line ?? "null") as DriverRun;
  }

  close(): void {
    const s = this.#session;
    this.#session = undefined;
    s?.then((x) => x.close(), () => {});
  }

  #open(): Promise<AdminSession> {
    this.#session ??= (async () => {
      const s = await AdminSession.open(this.address, this.#timeoutMs, this.#tls);
      if (this.#token !== undefined) {
        const reply = await s.block(`auth ${this.#token}`);
        if (reply[0] !== "OK") throw new ClientError("SERVER_ERROR", `${this.address}: console refused the token`);
      }
      return s;
    })().catch((e) => {
      this.#session = undefined;
      throw e instanceof ClientError ? e : new ClientError("UNREACHABLE", (e as Error).message);
    });
    return this.#session;
  }
}
