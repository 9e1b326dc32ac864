/**
 * The job server at the edge: listens, replays the store into the core
 * before accepting anyone, feeds socket bytes to the core, writes its output,
 * runs its timers, enforces transport limits and shuts down gracefully.
 * It owns no job rule.
 *
 * @module
 */
import { JobServer } from "../core/mod.ts";
import type { PendingAck, RoleSet } from "../core/mod.ts";
import { gearmanVerbose, Logger } from "../log/logger.ts";
import type { NetSocket } from "../runtime/net.ts";
import { type InProcessServer, inProcessServer, type StartedWorker, startStdioWorker } from "./in_process.ts";
import { bootId, hostname, pid } from "../runtime/host_and_process.ts";
import type { ServeSettings } from "../config/serve_options.ts";
import { type ListenerItem, splitAddress } from "../config/serve_listeners.ts";
import type { JobStore } from "../store/job_store.ts";
import { openStore } from "../store/open_store.ts";
import { backupReply } from "./backup_reply.ts";
import { ClusterDuty } from "./cluster_duty.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { Backpressure } from "./backpressure.ts";
import { Connection, type ConnectionLimits, dropConnection } from "./connection.ts";
import { ConnectionLimit } from "./connection_limit.ts";
import { ConnectionSweep } from "./connection_sweep.ts";
import { EffectRunner } from "./effect_runner.ts";
import { InputPump } from "./input_pump.ts";
import { checkKeyFits, type ResolvedServer, resolveServer } from "./server_settings.ts";
import { StoreHealth } from "./store_health.ts";
import { type CommitOutcome, StoreWriter } from "./store_writer.ts";
import { DeadlineTimer } from "./deadline_timer.ts";
import type { ServerStats } from "./server_stats.ts";
import { PayloadReader } from "./payload_reader.ts";
import { openWaiting } from "./store_wait.ts";
import { Listeners } from "./listeners.ts";
import { type MetricsEndpoint, startMetrics } from "./metrics_endpoint.ts";
import { ScheduleRunner } from "./schedule_runner.ts";
import { scheduleAdmin } from "./schedule_admin.ts";

/** Version reported by `gearbox --version` and the `version` admin command. */
export const VERSION = "0.1.0";

/** Options of an embedded or command-line server: every setting, plus objects. */
export interface ServerOptions extends Partial<Omit<ServeSettings, "listeners">> {
  /** Listeners with roles (docs/security.md): each item's `listen` is required, the rest has defaults. */
  listeners?: ListenerItem[];
  /** A store object instead of a URL (an embedding application may share one). */
  storeInstance?: JobStore;
  logger?: Logger;
  /** Where the core's time and the server's own deadlines come from (default: the real clock; a `ManualClock` in tests). */
  clock?: Clock;
}

export type { ServerStats } from "./server_stats.ts";

/**
 * A Gearman job server.
 *
 * @example
 * ```ts
 * import { createServer } from "gearbox";
 * const server = createServer({ port: 0 });
 * await server.start();
 * console.log(`listening on ${server.port}`);
 * await server.stop();
 * ```
 */
export class GearboxServer {
  readonly settings: ServeSettings;
  readonly core: JobServer;
  readonly logger: Logger;
  readonly store: JobStore;
  readonly clock: Clock;
  /** This server's node id in a cluster (`--node-id`, default host name and port). */
  readonly node: string;
  /** Why the server stopped on its own (its node was declared dead), for `gearbox serve`'s exit status. */
  lost: string | undefined;
  readonly health: StoreHealth;
  /** The recurring schedules (schedule_runner.ts, docs/schedules.md). */
  readonly schedules: ScheduleRunner;
  readonly #writer: StoreWriter;
  readonly #connections = new Map<number, Connection>();
  /** Settings in the units the edge uses (ms), from server_settings.ts. */
  readonly #limits: ConnectionLimits;
  readonly #edge: ResolvedServer["edge"];
  readonly #effects: EffectRunner;
  readonly #backpressure: Backpressure;
  readonly #pump: InputPump;
  readonly #sweep: ConnectionSweep;
  readonly #limit: ConnectionLimit;
  readonly #listeners: Listeners;
  readonly #duty: ClusterDuty;
  readonly #deadline: DeadlineTimer;
  #nextId = 0;
  #bytesRead = 0;
  #inProcessCount = 0;
  #draining = false;
  #drainTimer: unknown;
  #stopping: Promise<void> | undefined;
  #resolveDone!: () => void;
  readonly #isStopping = (): boolean => this.#stopping !== undefined;
  /** Workload reads in flight (`read` effects): stopping waits for them before closing the store. */
  readonly #reads: PayloadReader;
  /** `metrics_listen`'s endpoint, started first thing in `start` (metrics_endpoint.ts); it stops with the server. */
  metrics: MetricsEndpoint | undefined;
  /** Resolves once the server has stopped (after `stop` or an admin `shutdown`). */
  readonly done: Promise<void> = new Promise((r) => (this.#resolveDone = r));

  constructor(options: ServerOptions = {}) {
    const { storeInstance, logger, clock, ...rest } = options;
    const { settings, core, connection, edge } = resolveServer(rest);
    this.settings = settings;
    this.clock = clock ?? SYSTEM_CLOCK;
    [this.#limits, this.#edge] = [connection, edge];
    this.logger = logger ?? new Logger({ level: settings.logLevel, format: settings.logFormat === "json" ? "json" : "text" });
    this.#limit = new ConnectionLimit(settings.maxConnections, this.logger);
    this.#listeners = new Listeners(edge.listening, this.logger); // bad TLS files refuse the start before a store file is made
    this.store = storeInstance ?? openStore(settings.store);
    checkKeyFits(core, this.store);
    this.node = settings.nodeId || `${hostname()}:${splitAddress(edge.listening.plans[0]!.listen, "listen").port}`; // the first listener's port
    this.core = new JobServer({
      ...core,
      handlePrefix: settings.jobHandlePrefix || `H:${hostname().slice(0, 24)}.${bootId()}`,
      version: VERSION,
      pid: pid(),
      verbose: gearmanVerbose(settings.logLevel),
      random: Math.random,
      storeReadsPayloads: this.store.payloadsOutOfMemory,
    });
    this.health = new StoreHealth(this.logger, this.clock); // logs outages once per change (store_health.ts)
    this.#reads = new PayloadReader(this.store, {
      answer: (token, data, error, outage) => this.core.payloadRead(token, data, error, this.clock.now(), outage),
      flush: () => this.#flush(),
    }, this.health);
    this.#deadline = new DeadlineTimer(this.core, this.clock, () => this.#flush());
    this.#writer = new StoreWriter(this.store, (outcome) => this.#committed(outcome), edge.completionCommitDelayMs, this.health);
    this.#effects = new EffectRunner({
      writer: this.#writer,
      logger: this.logger,
      connection: (id) => this.#connections.get(id),
      read: (id, token) => this.#reads.read(id, token),
      backup: (conn, name, reply) => void this.#answer(conn, reply, backupReply(this.store, this.settings.backupDir, name, this.logger)),
      nodes: (conn, reply) => void this.#answer(conn, reply, this.#duty.nodes()),
      schedule: (conn, args, reply) => void this.#answer(conn, reply, scheduleAdmin(this.schedules, args)),
      drain: () => void this.drain(),
      stop: () => void this.stop(),
    });
    this.#backpressure = new Backpressure({
      core: this.core,
      resume: (conn, now) => this.#pump.resume(conn, now),
      flush: () => this.#flush(),
      stopping: this.#isStopping,
      now: () => this.clock.now(),
    }, this.#connections);
    this.#pump = new InputPump({
      core: this.core,
      writer: this.#writer,
      logger: this.logger,
      adminSlice: settings.adminSlice,
      backpressure: this.#backpressure,
      writeOutput: (now) => this.#writeOutput(now),
      flush: () => this.#flush(),
      stopping: this.#isStopping,
      now: () => this.clock.now(),
    });
    [this.#duty, this.schedules] = [this.#clusterDuty(edge.nodeLeaseMs), this.#scheduleRunner()];
    this.#sweep = new ConnectionSweep(this.#connections, edge, this.clock, (conn, reason) => this.#drop(conn, reason));
  }

  /** The bound port (useful with port 0); with `listeners`, the first one's. */
  get port(): number {
    return this.#listeners.port ?? this.settings.port;
  }

  /** Every listener's bound address, `host:port`, in the order of `listeners`. */
  get addresses(): string[] {
    return this.#listeners.addresses ?? [];
  }

  /** Where the server is in its life (`/ready`, metrics_endpoint.ts): listening only once the store is replayed. */
  get phase(): "starting" | "serving" | "draining" | "stopping" {
    return this.#stopping ? "stopping" : this.#draining ? "draining" : this.#listeners.listening ? "serving" : "starting";
  }

  get stats(): ServerStats {
    return {
      connections: this.#connections.size,
      refusedConnections: this.#limit.refused,
      ...this.#writer.counts,
      bytesRead: this.#bytesRead,
      stalled: this.#backpressure.stalled,
    };
  }

  /** A `servers` entry that connects in process, no TCP port (Gearman::Server's `to_inprocess_server`): `new Client({ servers: [server.toInProcessServer()] })`. */
  toInProcessServer(): InProcessServer {
    return inProcessServer(`in-process:${++this.#inProcessCount}`, (socket) => this.accept(socket), () => this.#stopping !== undefined);
  }

  /** Starts a worker program on its stdin/stdout (Gearman::Server's `start_worker`; the child gets `GEARMAN_WORKER_USE_STDIO=1`; stderr is ours). */
  startWorker(argv: readonly string[], env: Record<string, string> = {}): Promise<StartedWorker> {
    return startStdioWorker(argv, env, (socket) => this.accept(socket), this.logger);
  }

  /** Replays the store into the core, then listens. */
  async start(): Promise<void> {
    this.metrics ??= await startMetrics(this); // before the replay, so that /ready says 503 meanwhile
    const t0 = Date.now();
    const stored = await openWaiting(this.store, this.#edge.storeWaitMs, this.clock, this.logger);
    const ids = this.store.cluster?.ids;
    if (ids) this.core.useIds(ids.base, ids.size, ids.highest);
    const jobs = this.core.restore(stored, this.clock.now());
    if (jobs > 0) this.logger.info("store replayed", { jobs, ms: Date.now() - t0, store: this.store.url });
    await this.schedules.open(this.store);
    this.#flush();
    try {
      const setRoles = (conn: number, roles: RoleSet) => {
        this.core.setRoles(conn, roles);
        this.#flush();
      };
      await this.#listeners.open({ accept: (socket, roles) => this.accept(socket, roles), setRoles });
    } catch (e) {
      // Nothing was served: a store file this start created goes again (a busy port leaves no gearbox.db).
      await Promise.all([this.store.discard?.() ?? this.store.close(), this.metrics?.close()]);
      throw e;
    }
    this.#limit.fitToFiles();
    this.schedules.start();
    this.#sweep.start();
    this.#duty.start();
    this.logger.info("listening", { address: this.#address(), store: this.store.url, node: this.node, version: VERSION });
  }

  /** SIGHUP: rereads the TLS files for new connections; false (logged, old kept) when refused or TLS is off. */
  reloadTls(): boolean {
    return this.#listeners.reloadTls();
  }

  /** Stops accepting, finishes store writes, closes every connection and the store. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** Graceful drain: no new connections, the existing ones served; stops once no job is queued or running (or the drain timeout). */
  async drain(): Promise<void> {
    if (this.#draining || this.#stopping) return this.done;
    this.#draining = true;
    this.schedules.stop(); // a schedule would keep making jobs: a drain could never end
    this.logger.info("draining: no new connections; stopping when no job is left", { jobs: this.core.view.jobs.size });
    await this.#listeners.close();
    if (this.#edge.drainTimeoutMs > 0) {
      this.#drainTimer = this.clock.setTimeout(() => {
        this.logger.warn("drain timeout reached; stopping with jobs left", { jobs: this.core.view.jobs.size });
        void this.stop();
      }, this.#edge.drainTimeoutMs);
    }
    this.#checkDrained();
    return this.done;
  }

  async #stop(): Promise<void> {
    this.schedules.stop();
    this.#sweep.stop();
    await this.#duty.stop();
    this.#deadline.stop();
    this.clock.clearTimeout(this.#drainTimer);
    this.#backpressure.stop();
    if (!this.#draining) await this.#listeners.close();
    await this.#writer.flush();
    await this.#reads.settled();
    for (const c of this.#connections.values()) c.socket.end();
    await new Promise((r) => setTimeout(r, 10)); // real time: a grace for the sockets to flush, not a deadline
    for (const c of this.#connections.values()) c.socket.destroy();
    await this.store.close();
    this.logger.info("stopped");
    this.#resolveDone();
  }

  #checkDrained(): void {
    if (this.#draining && this.core.idle && this.core.view.reading === 0 && !this.#writer.pending) void this.stop();
  }

  /** Serves an already-connected socket (listeners, in-process pairs, stdio workers, the allocation profile's sink); its id, or undefined when refused. */
  accept(socket: NetSocket, roles?: RoleSet): number | undefined {
    if (this.#stopping || this.#connections.size >= this.#limit.max) {
      this.#limit.refuse();
      this.core.count("connections_refused");
      socket.destroy();
      return undefined;
    }
    const id = ++this.#nextId;
    const conn = new Connection(id, socket, this.#limits, this.clock.now());
    this.#connections.set(id, conn);
    this.core.open(id, socket.remoteAddress, socket.remotePort, roles);
    socket.onData((chunk) => {
      const now = this.clock.now();
      this.#bytesRead += chunk.length;
      conn.receive(chunk);
      this.#pump.read(conn, now);
      this.#flush();
    });
    socket.onDrain(() => {
      if (conn.stalledSince !== undefined) this.#flush();
    });
    socket.onClose(() => {
      conn.closed = true;
      this.#connections.delete(id);
      this.#backpressure.forget(conn);
      this.#pump.forget(conn);
      this.core.close(id, this.clock.now());
      this.#flush();
    });
    return id;
  }

  /**
   * Writes the core's output and carries out its effects, right after each
   * read: replies go out with the least latency, while store writes of the
   * whole loop turn still share one commit (the writer batches on its own).
   */
  #flush(): void {
    const now = this.clock.now();
    this.#writeOutput(now);
    this.#backpressure.scheduleResume();
    this.#pump.schedule();
    this.#deadline.arm();
    this.schedules.poke();
    this.#checkDrained();
  }

  #writeOutput(now: number): void {
    this.#now = now;
    const effects = this.core.flush(this.#writeChunks);
    if (effects.length > 0) this.#effects.run(effects);
  }

  #now = 0; // the flush's time, for #writeChunks: one connection's output (bound once, no closure per flush)
  readonly #writeChunks = (id: number, chunks: Uint8Array[], buffer: Uint8Array, length: number): void => {
    const conn = this.#connections.get(id);
    if (!conn) return;
    if (!conn.write(chunks, buffer, length)) this.#drop(conn, "output buffer over the hard cap");
    else if (conn.over(this.core.pendingBytes(id))) this.#backpressure.stall(conn, this.#now);
  };

  /** The store answered a commit: the core hears it (the submitters get JOB_CREATED or an ERROR). */
  #committed({ added, error, coalesced }: CommitOutcome): void {
    this.core.persisted(added, error ? `store: ${error.message}` : undefined, this.clock.now(), coalesced);
    this.#flush();
  }

  /** Answers an admin command whose reply the edge builds (a backup, the nodes), once it is ready. */
  async #answer(conn: number, reply: PendingAck, text: Promise<string>): Promise<void> {
    this.core.answer(conn, reply, await text);
    this.#flush();
  }

  #address(): string {
    return this.#listeners.addresses[0] ?? `${this.settings.listen}:${this.port}`;
  }

  /** Heartbeats, adoption and the `nodes` reply (cluster_duty.ts); a store that is not shared just answers `nodes`. */
  #clusterDuty(leaseMs: number): ClusterDuty {
    return new ClusterDuty(
      { store: this.store, core: this.core, clock: this.clock, logger: this.logger, health: this.health, node: this.node, leaseMs },
      { address: () => this.#address(), flush: () => this.#flush(), lost: (message) => this.#lose(message) },
    );
  }

  /** The recurring schedules (schedule_runner.ts), fired on the server's clock into the writer's commits. */
  #scheduleRunner(): ScheduleRunner {
    const deps = { core: this.core, store: this.store, writer: this.#writer, clock: this.clock, logger: this.logger };
    return new ScheduleRunner({ ...deps, flush: () => this.#flush() }, this.settings.schedules);
  }

  /** This node was declared dead (cluster_duty.ts): stop, and say why. */
  #lose(message: string): void {
    this.lost = message;
    this.logger.error(message, { node: this.node });
    void this.stop();
  }

  /** The cluster duty's round in flight, for tests that advance a ManualClock (resolves at once without a cluster). */
  clusterSettled(): Promise<void> {
    return this.#duty.settled();
  }

  #drop(conn: Connection, reason: string): void {
    dropConnection(conn, reason, this.core, this.logger);
  }
}

/**
 * Creates a server (not started): the in-process server of Gearman::Server.
 * The options are checked as `gearbox serve` checks its flags: a bad value
 * throws a ConfigError (code INVALID_CONFIG) naming the key.
 */
export function createServer(options: ServerOptions = {}): GearboxServer {
  return new GearboxServer(options);
}
