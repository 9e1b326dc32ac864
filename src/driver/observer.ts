/**
 * The observer: every interval, asks every server how many jobs wait per
 * function (gearbox's `functions`, else `status` as gearmand), keeps the
 * sum for the scaling decision (`scaling.ts`) with, from gearbox servers,
 * when the oldest waiting job of each function was submitted (for
 * `target_wait`; unknown when any server answering is not gearbox), and warns about functions
 * that no configured job handles (running `unknown_job_command`). The
 * driver reconciles its job groups after each poll.
 *
 * @module
 */
import { AdminClient } from "../client/admin_client.ts";
import { AdminError } from "../client/admin_session.ts";
import type { TlsOptions } from "../client/tls_options.ts";
import type { Logger } from "../log/logger.ts";
import { runCommand } from "../runtime/run_command.ts";

export class Observer {
  readonly #admins: AdminClient[];
  readonly #log: Logger;
  readonly #unknownJobCommand: string;
  /** Jobs waiting per function, as the last poll that reached a server saw them. */
  readonly #waiting = new Map<string, number>();
  /** When the oldest job waiting per function was submitted (ms since the epoch), as the last poll saw it. */
  readonly #oldest = new Map<string, number>();
  /** Whether every server the last poll reached reported ages. */
  #agesKnown = false;
  /** Servers that answered ERR to `functions` (not gearbox): read with `status`. */
  readonly #statusOnly = new Set<AdminClient>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `tls`: the TLS settings for every server (files read here: a bad one throws, naming it). */
  constructor(servers: readonly string[], log: Logger, unknownJobCommand: string, tls?: TlsOptions) {
    this.#admins = servers.map((server) => new AdminClient({ server, timeoutMs: 5000, tls }));
    this.#log = log;
    this.#unknownJobCommand = unknownJobCommand;
  }

  /** Runs `observe` now and every `intervalMs`. */
  start(intervalMs: number, observe: () => Promise<void>): void {
    this.#timer = setInterval(() => void observe(), intervalMs);
    void observe();
  }

  /** Stops the interval (a poll under way finishes). */
  stop(): void {
    clearInterval(this.#timer);
  }

  close(): void {
    for (const a of this.#admins) a.close();
  }

  /** Jobs of these functions waiting on the servers, as the last poll saw them. */
  waitingFor(functions: readonly string[]): number {
    return functions.reduce((n, f) => n + (this.#waiting.get(f) ?? 0), 0);
  }

  /**
   * Age in ms at `now` of the oldest job waiting for these functions (0
   * when none waits), or undefined when a server did not report ages.
   */
  oldestAgeFor(functions: readonly string[], now: number): number | undefined {
    if (!this.#agesKnown) return undefined;
    const at = Math.min(...functions.map((f) => this.#oldest.get(f) || Infinity));
    return Number.isFinite(at) ? Math.max(now - at, 0) : 0;
  }

  /** Asks every server; the jobs waiting per function, summed, or undefined when no server answered. */
  async poll(): Promise<Map<string, number> | undefined> {
    const waiting = new Map<string, number>();
    const oldest = new Map<string, number>();
    let reached = 0;
    let agesKnown = true;
    await Promise.all(this.#admins.map(async (admin) => {
      try {
        const seen = await this.#waitingOn(admin);
        for (const [fn, { n, oldestAt }] of seen) {
          waiting.set(fn, (waiting.get(fn) ?? 0) + n);
          if (oldestAt === undefined) agesKnown = false;
          else if (oldestAt > 0) oldest.set(fn, Math.min(oldest.get(fn) ?? Infinity, oldestAt));
        }
        if (this.#statusOnly.has(admin)) agesKnown = false;
        reached++;
      } catch (e) {
        this.#log.limited(`server:${admin.server}`, 60_000, "warn", "cannot read status from a server", {
          server: admin.server,
          error: (e as Error).message,
        });
      }
    }));
    if (reached === 0) return undefined;
    this.#oldest.clear();
    for (const [f, at] of oldest) this.#oldest.set(f, at);
    this.#agesKnown = agesKnown;
    return waiting;
  }

  /** Keeps a poll's result for `waitingFor` and reports the functions no job in `known` handles. */
  record(waiting: Map<string, number>, known: ReadonlySet<string>): void {
    this.#waiting.clear();
    for (const [f, n] of waiting) this.#waiting.set(f, n);
    this.#unknownJobs(waiting, known);
  }

  /**
   * Jobs waiting to run now, per function, on one server: gearbox's
   * `functions` counts due jobs apart from scheduled ones (a job to run in
   * an hour needs no process now); other servers' `status` has no
   * scheduled jobs to tell apart (queued minus running).
   */
  async #waitingOn(admin: AdminClient): Promise<Map<string, { n: number; oldestAt?: number }>> {
    const out = new Map<string, { n: number; oldestAt?: number }>();
    if (!this.#statusOnly.has(admin)) {
      try {
        for (const f of await admin.functions()) {
          const oldestAt = Number.isFinite(f.oldestQueuedAt) ? f.oldestQueuedAt : undefined;
          out.set(f.function, { n: f.high + f.normal + f.low, oldestAt });
        }
        return out;
      } catch (e) {
        if (!(e instanceof AdminError)) throw e;
        this.#statusOnly.add(admin);
        this.#log.info("the server has no `functions` command: reading `status` (queued minus running)", { server: admin.server });
      }
    }
    for (const row of await admin.status()) out.set(row.function, { n: Math.max(row.queued - row.running, 0) });
    return out;
  }

  #unknownJobs(waiting: Map<string, number>, known: ReadonlySet<string>): void {
    for (const [fn, n] of waiting) {
      if (n === 0 || known.has(fn)) continue;
      this.#log.limited(`unknown:${fn}`, 60_000, "warn", "unknown_job: queued jobs that no configured job handles", {
        function: fn,
        queued: n,
      });
      const hook = this.#unknownJobCommand;
      if (hook !== "") {
        void runCommand(["sh", "-c", hook], new Uint8Array(0), {
          env: { GEARBOX_FUNCTION: fn, GEARBOX_QUEUED: String(n) },
          timeoutMs: 30_000,
        })
          .then((r) => {
            if (r.status !== 0) this.#log.warn("unknown_job_command failed", { function: fn, status: r.status ?? r.signal ?? "?" });
          }, (e) => this.#log.warn("unknown_job_command cannot run", { error: (e as Error).message }));
      }
    }
  }
}
