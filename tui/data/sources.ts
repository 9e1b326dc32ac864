/**
 * What `gearbox top` reads, each call one round of polling: every server's
 * queues (gearbox's `functions` where it answers, else `status` and
 * `prioritystatus`, as gearmand) and, from gearbox, its cluster's `nodes`;
 * every driver's `status json` and new
 * `events`, and the selected function's failures and scheduled jobs (and,
 * from the drivers, the last runs of the jobs serving it). A
 * server that does not answer is reported down, never as empty.
 *
 * @module
 */
import { AdminClient, AdminError, type NodeInfo, type ScheduleInfo } from "../../src/client/admin_client.ts";
import { DriverConsole, type DriverRun } from "../../src/client/driver_console.ts";
import type { TlsOptions } from "../../src/client/tls_options.ts";
import type { Detail, DriverView, QueueRow, ServerView } from "../state.ts";

/**
 * How often a server's `nodes` is read again: on a PostgreSQL store each
 * read counts every node's job rows, too dear for every refresh; the panel
 * ages the heartbeats it read meanwhile.
 */
export const NODES_EVERY_MS = 5000;

/** Runs of a function's driver jobs the detail shows. */
const RUNS_SHOWN = 5;

export class Sources {
  readonly admins: AdminClient[];
  readonly consoles: DriverConsole[];
  readonly #lastSeq = new Map<string, number>();
  /** Servers that refused `functions` once are asked the gearmand way from then on. */
  readonly #plain = new Set<string>();
  /** Each gearbox server's last `nodes` and when it was read; undefined rows: it refused the command. */
  readonly #nodes = new Map<string, { at: number; rows: NodeInfo[] | undefined }>();
  /** Servers that refused `schedule list`: not asked again. */
  readonly #noSchedules = new Set<string>();

  /** `tls` applies to every server, and to the consoles given as `tls://host:port` (a console is usually on loopback). */
  constructor(servers: string[], consoles: string[], token: string | undefined, timeoutMs: number, tls?: TlsOptions) {
    this.admins = servers.map((server) => new AdminClient({ server, timeoutMs, tls }));
    this.consoles = consoles.map((address) =>
      new DriverConsole({ address, token, timeoutMs, tls: address.startsWith("tls://") ? tls : undefined })
    );
  }

  async servers(now: () => number): Promise<ServerView[]> {
    return await Promise.all(this.admins.map(async (admin): Promise<ServerView> => {
      try {
        if (!this.#plain.has(admin.server)) {
          try {
            const rows: QueueRow[] = (await admin.functions()).map((f) => ({
              ...f,
              queued: f.high + f.normal + f.low + f.scheduled,
            }));
            const nodes = await this.#nodesOf(admin, now());
            const schedules = await this.#schedulesOf(admin);
            return { address: admin.server, up: true, at: now(), gearbox: true, rows, nodes: nodes?.rows, nodesAt: nodes?.at, schedules };
          } catch (e) {
            if (!(e instanceof AdminError)) throw e;
            this.#plain.add(admin.server);
          }
        }
        const status = await admin.status();
        const prio = await admin.priorityStatus().catch(() => []);
        const rows: QueueRow[] = status.map((s) => {
          const p = prio.find((x) => x.function === s.function);
          return {
            function: s.function,
            queued: Math.max(s.queued - s.running, 0),
            running: s.running,
            workers: s.workers,
            high: p?.high,
            normal: p?.normal,
            low: p?.low,
          };
        });
        return { address: admin.server, up: true, at: now(), gearbox: false, rows };
      } catch (e) {
        return { address: admin.server, up: false, error: (e as Error).message, at: now(), gearbox: false, rows: [] };
      }
    }));
  }

  /** A gearbox server's schedules; undefined once it refused `schedule list` (an older gearbox, or no admin-read). */
  async #schedulesOf(admin: AdminClient): Promise<ScheduleInfo[] | undefined> {
    if (this.#noSchedules.has(admin.server)) return undefined;
    try {
      return await admin.schedules();
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      this.#noSchedules.add(admin.server);
      return undefined;
    }
  }

  /** A gearbox server's `nodes`, read again after {@link NODES_EVERY_MS}; rows undefined when it refuses the command. */
  async #nodesOf(admin: AdminClient, now: number): Promise<{ at: number; rows: NodeInfo[] | undefined }> {
    const last = this.#nodes.get(admin.server);
    if (last && now - last.at < NODES_EVERY_MS) return last;
    let rows: NodeInfo[] | undefined;
    try {
      rows = await admin.nodes();
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
    }
    const read = { at: now, rows };
    this.#nodes.set(admin.server, read);
    return read;
  }

  async drivers(
    now: () => number,
    onEvents: (driver: string, events: Awaited<ReturnType<DriverConsole["events"]>>) => void,
  ): Promise<DriverView[]> {
    return await Promise.all(this.consoles.map(async (c): Promise<DriverView> => {
      try {
        const jobs = await c.status();
        const events = await c.events(this.#lastSeq.get(c.address) ?? 0);
        if (events.length > 0) {
          // A restarted driver numbers from 1 again: take what it has.
          this.#lastSeq.set(c.address, events.at(-1)!.seq);
          onEvents(c.address, events);
        }
        return { address: c.address, up: true, at: now(), jobs };
      } catch (e) {
        return { address: c.address, up: false, error: (e as Error).message, at: now(), jobs: [] };
      }
    }));
  }

  /** Recent failures (with messages) and scheduled jobs of `fn`, from the gearbox servers. */
  async detail(fn: string): Promise<Detail> {
    const detail: Detail = { function: fn, failures: [], scheduled: [] };
    if (this.admins.every((a) => this.#plain.has(a.server))) {
      detail.error = "failures and scheduled jobs come from gearbox servers; these servers do not keep them";
    }
    for (const admin of this.admins) {
      if (this.#plain.has(admin.server)) continue;
      try {
        const failed = (await admin.command(`job list state=failed function=${fn} limit=10`)).lines.filter((l) => l.includes("\t"));
        for (const row of failed) {
          const handle = row.split("\t")[0]!;
          const shown = (await admin.command(`job show ${handle}`)).lines;
          const last = shown.filter((l) => l.startsWith("failure\t")).at(-1)?.split("\t");
          detail.failures.push({ handle, at: Number(last?.[1] ?? 0), message: last?.slice(2).join("\t") ?? "" });
        }
        const scheduled = (await admin.command(`job list state=scheduled function=${fn} limit=10`)).lines.filter((l) => l.includes("\t"));
        for (const row of scheduled) {
          const cells = row.split("\t");
          detail.scheduled.push({ handle: cells[0]!, runAt: Number(cells[5] ?? 0) });
        }
      } catch (e) {
        detail.error = `${admin.server}: ${(e as Error).message}`;
      }
    }
    detail.runs = await this.#runsOf(fn);
    return detail;
  }

  /** The last runs, from every driver, of the jobs that serve `fn`, newest first; a driver that does not answer is skipped. */
  async #runsOf(fn: string): Promise<DriverRun[]> {
    const runs: DriverRun[] = [];
    for (const c of this.consoles) {
      try {
        for (const job of await c.status()) if (job.functions.includes(fn)) runs.push(...await c.runs(job.name, RUNS_SHOWN));
      } catch {
        // The processes panel says the driver is down.
      }
    }
    return runs.sort((a, b) => b.start - a.start).slice(0, RUNS_SHOWN);
  }

  close(): void {
    for (const a of this.admins) a.close();
    for (const c of this.consoles) c.close();
  }
}
