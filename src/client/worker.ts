/**
 * The Gearman worker: registers functions on every server, grabs jobs, runs
 * their handlers one at a time and sends the outcome. It sleeps with
 * PRE_SLEEP until the server wakes it with NOOP, and after a server goes
 * away it reconnects with exponential back-off and registers again.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import type { Packet } from "../protocol/decoder.ts";
import { ClientError } from "./client_error.ts";
import { type DataEncoder, textEncoder } from "./data_encoder.ts";
import { type GearmanConnectionOptions, PacketConnection } from "./packet_connection.ts";
import { parseServers, type ServerAddress } from "./server_list.ts";
import { applyTls, resolveTls } from "./tls_options.ts";
import { fromWire, wireText } from "./submit_packet.ts";
import { WorkerJob } from "./worker_job.ts";

/** What a handler returns becomes the result (WORK_COMPLETE); a throw becomes WORK_EXCEPTION. */
export type JobHandler<T> = (job: WorkerJob<T>) => T | void | Promise<T | void>;

/** Options of one registered function. */
export interface RegisterOptions<T> {
  /**
   * Sent as CAN_DO_TIMEOUT, in milliseconds as gearmand and gearbox read it
   * (at least 1000): a job that runs longer is taken back and offered again.
   * Perl's Gearman::Server reads the value as seconds.
   */
  timeoutMs?: number;
  /**
   * gearbox only: after a job, grab next a queued job whose unique starts
   * with the prefix this returns (TheSchwartz's coalesce key), if any.
   */
  coalesce?: (job: WorkerJob<T>) => string | undefined;
  /** This function's payload encoding, instead of the worker's. */
  encoder?: DataEncoder<T>;
}

/** Options for {@link Worker}. */
export interface WorkerOptions<T> extends GearmanConnectionOptions<T> {
  /** First reconnect delay after a server went away (default 100 ms), doubled up to `reconnectMaxMs`. */
  reconnectMinMs?: number;
  /** Longest reconnect delay (default 10 000 ms). */
  reconnectMaxMs?: number;
  /** Told about connection problems and refused packets; the worker carries on. */
  onError?: (error: Error) => void;
  /**
   * Told when a job ends, however it ended: the handler's result or throw,
   * a workload that did not decode, or a function no longer registered.
   */
  onJobEnd?: (end: JobEnd) => void;
}

/** How one job ended, for {@link WorkerOptions.onJobEnd}. */
export interface JobEnd {
  function: string;
  handle: string;
  /**
   * `failed` for a throw, `job.fail()`, `permanentFailure` or an undecodable workload; otherwise
   * `complete` (a decline or replaceWith included).
   */
  outcome: "complete" | "failed";
  /** The failure's message. */
  message?: string;
  /** The exit status a failure carried, if any. */
  exitStatus?: number;
}

interface Registration<T> {
  handler: JobHandler<T>;
  options: RegisterOptions<T>;
}

interface Link {
  conn: PacketConnection;
  reliable: boolean;
  /** The server refused GRAB_JOB_UNIQ (Gearman::Server): grab with plain GRAB_JOB. */
  plainGrab: boolean;
  /** A NOOP arrived since the last grab. */
  woke: boolean;
  wake: (() => void) | undefined;
}

/**
 * Runs handlers for jobs from one or more servers.
 *
 * @example
 * ```ts
 * import { Worker } from "./mod.ts";
 * const worker = new Worker({ servers: ["127.0.0.1:4730"] });
 * worker.register("reverse", (job) => job.data.split("").reverse().join(""));
 * const done = worker.work();   // until stop()
 * // ... later:
 * await worker.stop();          // finishes the running job, then unregisters
 * await done;
 * ```
 */
export class Worker<T = string> {
  readonly #servers: readonly ServerAddress[];
  readonly #options: WorkerOptions<T>;
  readonly #encoder: DataEncoder<T>;
  readonly #functions = new Map<string, Registration<T>>();
  readonly #links = new Set<Link>();
  readonly #pauses = new Set<() => void>();
  #lockTail: Promise<void> = Promise.resolve();
  #working: Promise<void> | undefined;
  #stopping = false;
  #busy = false;
  #coalesce: string | undefined;

  constructor(options: WorkerOptions<T> = {}) {
    this.#servers = applyTls(parseServers(options.servers), resolveTls(options.tls));
    this.#options = options;
    this.#encoder = options.encoder ?? (textEncoder as unknown as DataEncoder<T>);
  }

  /** Whether a handler is running now. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Servers connected and registered now, as `host:port`. */
  get connected(): string[] {
    return [...this.#links].map((l) => l.conn.server.key);
  }

  /** Registers (or replaces) the handler of `fn`; takes effect at once on connected servers. */
  register(fn: string, handler: JobHandler<T>, options: RegisterOptions<T> = {}): this {
    if (fn === "" || fn.includes("\0")) throw new ClientError("INVALID_ARGUMENT", `bad function name ${JSON.stringify(fn)}`);
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) {
      throw new ClientError("INVALID_ARGUMENT", "timeoutMs must be positive");
    }
    this.#functions.set(fn, { handler, options });
    for (const link of this.#links) this.#canDo(link.conn, fn, options);
    return this;
  }

  /** Stops taking jobs of `fn` (CANT_DO). */
  unregister(fn: string): this {
    this.#functions.delete(fn);
    for (const link of this.#links) link.conn.send(Cmd.CANT_DO, [wireText(fn)]);
    return this;
  }

  /** Connects to every server and works until {@link Worker.stop}. */
  work(): Promise<void> {
    if (this.#working) return this.#working;
    if (this.#functions.size === 0) return Promise.reject(new ClientError("INVALID_STATE", "register a function before work()"));
    this.#stopping = false;
    this.#working = Promise.all(this.#servers.map((s) => this.#serve(s))).then(() => {
      this.#working = undefined;
    });
    return this.#working;
  }

  /** Lets the running job finish, unregisters from every server and closes; resolves when done. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const link of this.#links) link.wake?.();
    for (const resume of this.#pauses) resume();
    await this.#working;
  }

  async #serve(server: ServerAddress): Promise<void> {
    const min = this.#options.reconnectMinMs ?? 100;
    const max = this.#options.reconnectMaxMs ?? 10_000;
    let delay = min;
    let failures = 0;
    let lastReport = 0;
    while (!this.#stopping) {
      const link: Link = {
        conn: undefined as unknown as PacketConnection,
        reliable: false,
        plainGrab: false,
        woke: false,
        wake: undefined,
      };
      try {
        link.conn = await PacketConnection.open(server, {
          connectTimeoutMs: this.#options.connectTimeoutMs ?? 5000,
          maxPacketBody: this.#options.maxPacketBody,
          replyTimeoutMs: this.#options.replyTimeoutMs,
          onPacket: (p) => {
            if (p.code !== Cmd.NOOP) return;
            link.woke = true;
            link.wake?.();
          },
          onClose: () => link.wake?.(),
        });
      } catch (e) {
        // The first failure is news; after that, one line a minute while the server stays away.
        if (failures++ === 0 || Date.now() - lastReport >= 60_000) {
          lastReport = Date.now();
          this.#report(
            new ClientError("UNREACHABLE", `${(e as Error).message} (attempt ${failures}; retrying with back-off up to ${max} ms)`),
          );
        }
        await this.#pause(delay);
        delay = Math.min(delay * 2, max);
        continue;
      }
      try {
        await this.#setup(link);
        failures = 0;
        delay = min;
        this.#links.add(link);
        await this.#grabLoop(link);
      } catch (e) {
        if (!this.#stopping) this.#report(e as Error);
      } finally {
        this.#links.delete(link);
      }
      if (this.#stopping) {
        link.conn.send(Cmd.RESET_ABILITIES);
        link.conn.close();
        return;
      }
      link.conn.close();
      this.#report(new ClientError("CONNECTION_LOST", `${server.key}: connection lost; reconnecting in ${delay} ms`));
      await this.#pause(delay);
      delay = Math.min(delay * 2, max);
    }
  }

  async #setup(link: Link): Promise<void> {
    if (this.#options.clientId) link.conn.send(Cmd.SET_CLIENT_ID, [wireText(this.#options.clientId)]);
    // gearbox answers OPTION_RES; gearmand and Gearman::Server answer ERROR, and the worker does without.
    const reply = await link.conn.request(Cmd.OPTION_REQ, ["reliable"]);
    link.reliable = reply.code === Cmd.OPTION_RES;
    for (const [fn, reg] of this.#functions) this.#canDo(link.conn, fn, reg.options);
  }

  #canDo(conn: PacketConnection, fn: string, options: RegisterOptions<T>): void {
    if (options.timeoutMs === undefined) conn.send(Cmd.CAN_DO, [wireText(fn)]);
    // gearmand and gearbox read the value as milliseconds (Perl's Gearman::Server as seconds).
    else conn.send(Cmd.CAN_DO_TIMEOUT, [wireText(fn), String(Math.ceil(options.timeoutMs))]);
  }

  async #grabLoop(link: Link): Promise<void> {
    while (!this.#stopping && !link.conn.closed) {
      const release = await this.#lock();
      try {
        if (this.#stopping || link.conn.closed) return;
        link.woke = false;
        const prefix = this.#coalesce;
        this.#coalesce = undefined;
        const reply = prefix !== undefined && link.reliable
          ? await link.conn.request(Cmd.GRAB_JOB_COALESCE, [wireText(prefix)])
          : await link.conn.request(link.plainGrab ? Cmd.GRAB_JOB : Cmd.GRAB_JOB_UNIQ);
        if (reply.code === Cmd.JOB_ASSIGN_UNIQ || reply.code === Cmd.JOB_ASSIGN) {
          await this.#run(link, reply);
          continue;
        }
        if (reply.code === Cmd.ERROR && prefix === undefined && !link.plainGrab) {
          link.plainGrab = true;
          continue;
        }
        if (prefix !== undefined && reply.code === Cmd.NO_JOB) continue; // nothing to coalesce: a normal grab next
      } finally {
        release();
      }
      if (link.woke) continue;
      link.conn.send(Cmd.PRE_SLEEP);
      await new Promise<void>((resolve) => {
        link.wake = resolve;
        if (link.woke || this.#stopping || link.conn.closed) resolve();
      });
      link.wake = undefined;
    }
  }

  async #run(link: Link, assign: Packet): Promise<void> {
    const [handle = "", fnWire = "", uniqueWire = ""] = assign.args;
    const fn = fromWire(fnWire);
    const reg = this.#functions.get(fn);
    if (!reg) {
      link.conn.send(Cmd.WORK_FAIL, [handle]); // unregistered while the grab was under way
      this.#ended({ function: fn, handle, outcome: "failed", message: "the function is no longer registered" });
      return;
    }
    const encoder = reg.options.encoder ?? this.#encoder;
    const ctx = { conn: link.conn, encoder, reliable: link.reliable, refused: (e: Error) => this.#report(e) };
    let data: T;
    try {
      data = encoder.decode(assign.data ?? new Uint8Array(0));
    } catch (e) {
      const error = new Error(`the workload does not decode: ${(e as Error).message}`);
      new WorkerJob<T>(handle, fn, fromWire(uniqueWire), undefined as T, ctx).abort(error);
      this.#ended({ function: fn, handle, outcome: "failed", message: error.message });
      return;
    }
    const job = new WorkerJob<T>(handle, fn, assign.code === Cmd.JOB_ASSIGN_UNIQ ? fromWire(uniqueWire) : "", data, ctx);
    this.#busy = true;
    try {
      job.complete((await reg.handler(job)) ?? undefined);
      this.#ended({ function: fn, handle, outcome: job.failure ? "failed" : "complete", ...job.failure });
    } catch (e) {
      job.abort(e);
      this.#ended({ function: fn, handle, outcome: "failed", ...(job.failure ?? { message: String(e) }) });
    } finally {
      this.#busy = false;
    }
    try {
      this.#coalesce = reg.options.coalesce?.(job);
    } catch (e) {
      this.#report(e as Error);
    }
  }

  #ended(end: JobEnd): void {
    try {
      this.#options.onJobEnd?.(end);
    } catch (e) {
      this.#report(e as Error);
    }
  }

  /** One job at a time across all servers: a grab holds the lock until its job is done. */
  #lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => release = r);
    const prev = this.#lockTail;
    this.#lockTail = prev.then(() => next);
    return prev.then(() => release);
  }

  #pause(ms: number): Promise<void> {
    const jittered = ms / 2 + Math.random() * ms / 2;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#pauses.delete(done);
        resolve();
      };
      const timer = setTimeout(done, jittered);
      this.#pauses.add(done);
    });
  }

  #report(error: Error): void {
    this.#options.onError?.(error);
  }
}
