/**
 * Typed access to the admin text protocol (`gearadmin`'s reach) of gearbox,
 * gearmand or Gearman::Server: each reply parsed into objects.
 *
 * @module
 */
import { AdminError, AdminSession } from "./admin_session.ts";
import { ClientError } from "./client_error.ts";
import type { ClientTlsConfig } from "../runtime/tcp_dial.ts";
import { parseServer } from "./server_list.ts";
import { applyTls, resolveTls, type TlsOptions } from "./tls_options.ts";

/** One row of `status`. */
export interface FunctionStatus {
  function: string;
  /** Jobs of the function the server holds, running ones included (gearmand's "total"). */
  queued: number;
  running: number;
  /** Workers that registered the function. */
  workers: number;
}

/** One row of `prioritystatus`: jobs waiting per priority. */
export interface PriorityStatus {
  function: string;
  high: number;
  normal: number;
  low: number;
  workers: number;
}

/** One row of `workers`. */
export interface WorkerInfo {
  fd: string;
  address: string;
  clientId: string;
  functions: string[];
}

/** One row of `show jobs`. */
export interface ShownJob {
  handle: string;
  retries: number;
  ignoreJob: boolean;
  /** gearmand's `job_queued` column. */
  jobQueued: boolean;
}

/** One row of gearbox's `functions` (gearbox only). */
export interface FunctionDetail {
  function: string;
  /** Waiting (due) jobs per priority. */
  high: number;
  normal: number;
  low: number;
  /** Jobs waiting for their run-after time. */
  scheduled: number;
  running: number;
  workers: number;
  /** Jobs that ended since the server saw the function first (counters: take differences). */
  completed: number;
  failed: number;
  /** Failed jobs kept in the dead set. */
  dead: number;
  /** When the oldest waiting job was submitted (ms since the epoch), or 0. */
  oldestQueuedAt: number;
}

/** One row of gearbox's `nodes`: a node of the cluster sharing the server's store (gearbox only). */
export interface NodeInfo {
  node: string;
  /** The address it announces, `host:port`. */
  address: string;
  /** Time since its last heartbeat, by the database's clock. */
  heartbeatAgeMs: number;
  /** Job rows it owns, live and ended. */
  jobs: number;
  /** `live`, `dead` (heartbeat older than the lease, not yet adopted) or `adopted:NODE`. */
  state: string;
}

/** One row of `nodes`, as the server writes it (node, address, heartbeat age in s, jobs, state). */
export function parseNodeRow(row: string): NodeInfo {
  const [node = "", address = "", age = "0", jobs = "0", state = ""] = row.split("\t");
  return { node, address, heartbeatAgeMs: Math.round(Number(age) * 1000), jobs: Number(jobs), state };
}

/** One schedule as gearbox's `schedule list` gives it (docs/schedules.md §7); times in ms, 0 for none. */
export interface ScheduleInfo {
  name: string;
  function: string;
  timing: string;
  /** `active`, `paused` or `orphan` (stored, gone from the config). */
  status: string;
  nextRun: number;
  lastRun: number;
  lastHandle: string;
  /** What became of the last job: persisting, scheduled, queued, running, ended; "" for none. */
  lastOutcome: string;
  fired: number;
  missed: number;
  skipped: number;
}

/** One row of `schedule list` (tab-separated; `-` for none). */
export function parseScheduleRow(row: string): ScheduleInfo {
  const c = row.split("\t").map((v) => (v === "-" ? "" : v));
  const at = (v: string | undefined) => (v ? Date.parse(v) || 0 : 0);
  return {
    name: c[0] ?? "",
    function: c[1] ?? "",
    timing: c[2] ?? "",
    status: c[3] ?? "",
    nextRun: at(c[4]),
    lastRun: at(c[5]),
    lastHandle: c[6] ?? "",
    lastOutcome: c[7] ?? "",
    fired: Number(c[8] ?? 0),
    missed: Number(c[9] ?? 0),
    skipped: Number(c[10] ?? 0),
  };
}

/** Options for {@link AdminClient}. */
export interface AdminClientOptions {
  /** `host:port` or `tls://host:port` (default `127.0.0.1:4730`). */
  server?: string;
  /** TLS settings; when given, a `host:port` server is dialed with TLS too. */
  tls?: TlsOptions;
  /** Deadline for the connect and for each reply (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * The admin protocol, typed. Connects on first use; `ERR` replies throw
 * {@link AdminError}.
 *
 * @example
 * ```ts
 * import { AdminClient } from "./mod.ts";
 * const admin = new AdminClient({ server: "127.0.0.1:4730" });
 * for (const f of await admin.status()) console.log(f.function, f.queued, f.running, f.workers);
 * admin.close();
 * ```
 */
export class AdminClient {
  readonly server: string;
  readonly #timeoutMs: number;
  readonly #tls: ClientTlsConfig | undefined;
  #session: Promise<AdminSession> | undefined;

  constructor(options: AdminClientOptions = {}) {
    this.#tls = resolveTls(options.tls);
    this.server = applyTls([parseServer(options.server ?? "127.0.0.1:4730")], this.#tls)[0]!.key;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  async status(): Promise<FunctionStatus[]> {
    return (await this.#list("status")).map((row) => {
      const [fn = "", queued, running, workers] = row.split("\t");
      return { function: fn, queued: Number(queued), running: Number(running), workers: Number(workers) };
    });
  }

  async priorityStatus(): Promise<PriorityStatus[]> {
    return (await this.#list("prioritystatus")).map((row) => {
      const [fn = "", high, normal, low, workers] = row.split("\t");
      return { function: fn, high: Number(high), normal: Number(normal), low: Number(low), workers: Number(workers) };
    });
  }

  async workers(): Promise<WorkerInfo[]> {
    return (await this.#list("workers")).map((row) => {
      const m = /^(\S+) (\S+) (\S*) ?:(.*)$/.exec(row);
      if (!m) throw new ClientError("BAD_RESPONSE", `${this.server}: unexpected workers row ${JSON.stringify(row)}`);
      return { fd: m[1]!, address: m[2]!, clientId: m[3]!, functions: m[4]!.split(" ").filter((f) => f !== "") };
    });
  }

  /** gearbox's per-function detail; other servers answer ERR (an {@link AdminError}). */
  async functions(): Promise<FunctionDetail[]> {
    return (await this.#list("functions")).map((row) => {
      const [fn = "", ...n] = row.split("\t");
      const v = n.map(Number);
      return {
        function: fn,
        high: v[0]!,
        normal: v[1]!,
        low: v[2]!,
        scheduled: v[3]!,
        running: v[4]!,
        workers: v[5]!,
        completed: v[6]!,
        failed: v[7]!,
        dead: v[8]!,
        oldestQueuedAt: v[9]!,
      };
    });
  }

  /** gearbox's cluster nodes (docs/cluster.md §5); a server without a shared store lists itself; others answer ERR. */
  async nodes(): Promise<NodeInfo[]> {
    return (await this.#list("nodes")).map(parseNodeRow);
  }

  /** gearbox's recurring schedules (`schedule list`; needs admin-read). */
  async schedules(): Promise<ScheduleInfo[]> {
    return (await this.#list("schedule list")).map(parseScheduleRow);
  }

  async showJobs(): Promise<ShownJob[]> {
    return (await this.#list("show jobs")).map((row) => {
      const [handle = "", retries, ignore, queued] = row.split("\t");
      return { handle, retries: Number(retries), ignoreJob: ignore === "1", jobQueued: queued === "1" };
    });
  }

  async showUniqueJobs(): Promise<string[]> {
    return await this.#list("show unique jobs");
  }

  async version(): Promise<string> {
    return okValue(await this.#line("version"));
  }

  async getPid(): Promise<number> {
    return Number(okValue(await this.#line("getpid")));
  }

  async verbose(): Promise<string> {
    return okValue(await this.#line("verbose"));
  }

  /** Sets the queue limit of `fn` (one value for all priorities, or high/normal/low); no value removes it. */
  async maxQueue(fn: string, ...limits: number[]): Promise<void> {
    if (limits.length !== 0 && limits.length !== 1 && limits.length !== 3) {
      throw new ClientError("INVALID_ARGUMENT", "maxQueue takes 0, 1 or 3 limits");
    }
    await this.#line(["maxqueue", fn, ...limits.map(String)].join(" "));
  }

  /** Cancels a queued job; false when the server does not know it. */
  async cancelJob(handle: string): Promise<boolean> {
    try {
      await this.#line(`cancel job ${handle}`);
      return true;
    } catch (e) {
      if (e instanceof AdminError) return false;
      throw e;
    }
  }

  async createFunction(fn: string): Promise<void> {
    await this.#line(`create function ${fn}`);
  }

  async dropFunction(fn: string): Promise<void> {
    await this.#line(`drop function ${fn}`);
  }

  /** Asks the server to stop (`graceful`: after running jobs end). */
  async shutdown(graceful = false): Promise<void> {
    await this.#line(graceful ? "shutdown graceful" : "shutdown");
  }

  /** Any admin command; rows for listed replies, one line otherwise. */
  async command(line: string): Promise<{ lines: string[]; listed: boolean }> {
    return await this.#recovering(async (s) => await s.raw(line));
  }

  close(): void {
    const s = this.#session;
    this.#session = undefined;
    s?.then((session) => session.close(), () => {});
  }

  #open(): Promise<AdminSession> {
    if (!this.#session) {
      this.#session = AdminSession.open(this.server, this.#timeoutMs, this.#tls).catch((e) => {
        this.#session = undefined;
        throw new ClientError("UNREACHABLE", (e as Error).message);
      });
    }
    return this.#session;
  }

  async #list(command: string): Promise<string[]> {
    return await this.#recovering(async (s) => await s.list(command));
  }

  async #line(command: string): Promise<string> {
    return await this.#recovering(async (s) => await s.line(command));
  }

  /** A broken or silent connection is dropped, so the next call connects afresh (a restarted server). */
  async #recovering<R>(call: (s: AdminSession) => Promise<R>): Promise<R> {
    try {
      return await call(await this.#open());
    } catch (e) {
      if (!(e instanceof AdminError)) this.close();
      throw e;
    }
  }
}

function okValue(line: string): string {
  return line.replace(/^OK ?/, "");
}

export { AdminError };
