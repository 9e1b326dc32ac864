/**
 * The job server at the edge: listens, replays the store into the core
 * before accepting anyone, feeds socket bytes to the core, writes its output,
 * runs its timers, enforces transport limits and shuts down gracefully.
 * It owns no job rule.
 *
 * @module
 */
import { JobServer } from "../core/mod.ts";
import type { Drained, PendingAck } from "../core/mod.ts";
import { errLine } from "../protocol/admin_text.ts";
import type { Frame } from "../protocol/decoder.ts";
import { gearmanVerbose, Logger } from "../log/logger.ts";
import { listen, type NetListener, type NetSocket } from "../runtime/net.ts";
import { spawnOnSocket } from "../runtime/piped_child.ts";
import { type InProcessServer, socketPair, type StartedWorker, wireChild } from "./in_process.ts";
import { bootId, hostname, now as clock, openFileLimit, pid } from "../runtime/system.ts";
import type { ServeSettings } from "../config/serve_options.ts";
import { type JobStore, StoreError } from "../store/job_store.ts";
import { openStore } from "../store/open_store.ts";
import { join } from "node:path";
import { Connection, type ConnectionLimits } from "./connection.ts";
import { type EdgeSettings, resolveServer } from "./server_settings.ts";
import { StoreWriter } from "./effect_runner.ts";

/** Version reported by `gearbox --version` and the `version` admin command. */
export const VERSION = "0.1.0";

/** Options of an embedded or command-line server: every setting, plus objects. */
export interface ServerOptions extends Partial<ServeSettings> {
  /** A store object instead of a URL (an embedding application may share one). */
  storeInstance?: JobStore;
  logger?: Logger;
}

/** What the server did, for `gearbox serve` to report and tests to check. */
export interface ServerStats {
  connections: number;
  refusedConnections: number;
  commits: number;
  committedJobs: number;
}

const SWEEP_MS = 1000;
/**
 * How long one loop turn may spend on held work before others are served:
 * frames of a large read (100,000 CAN_DO in one burst), across connections,
 * and slices of bulk admin work. Checked every FRAME_CHECK frames.
 */
const TURN_BUDGET_MS = 4;
const FRAME_CHECK = 64;
/** Read bytes decoded at a time (about 800 small packets). */
const DECODE_PIECE = 16 * 1024;
/** Descriptors kept free for the listener, the store's files, the runtime and logs. */
const FD_RESERVE = 32;

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
  readonly #writer: StoreWriter;
  readonly #connections = new Map<number, Connection>();
  /** Settings in the units the edge uses (ms), from server_settings.ts. */
  readonly #limits: ConnectionLimits;
  readonly #edge: EdgeSettings;
  /** Connections whose input is paused because their output is over the cap. */
  readonly #stalled = new Set<Connection>();
  /** Connections with frames held for a later turn (see TURN_BUDGET_MS) or behind a reply built in slices. */
  readonly #held = new Set<Connection>();
  #pumpArmed = false;
  #resumeTimer: ReturnType<typeof setTimeout> | undefined;
  /** max_connections, lowered when the file-descriptor limit is smaller. */
  #maxConnections: number;
  #fdLimited: number | undefined;
  #listener: NetListener | undefined;
  #nextId = 0;
  #inProcessCount = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #refused = 0;
  #draining = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping: Promise<void> | undefined;
  #resolveDone!: () => void;
  /** Resolves once the server has stopped (after `stop` or an admin `shutdown`). */
  readonly done: Promise<void> = new Promise((r) => (this.#resolveDone = r));

  constructor(options: ServerOptions = {}) {
    const { storeInstance, logger, ...rest } = options;
    const { settings, core, connection, edge } = resolveServer(rest);
    this.settings = settings;
    this.#limits = connection;
    this.#edge = edge;
    this.#maxConnections = settings.maxConnections;
    this.logger = logger ?? new Logger({ level: settings.logLevel, format: settings.logFormat === "json" ? "json" : "text" });
    this.store = storeInstance ?? openStore(settings.store);
    this.core = new JobServer({
      ...core,
      handlePrefix: settings.jobHandlePrefix || `H:${hostname().slice(0, 24)}.${bootId()}`,
      version: VERSION,
      pid: pid(),
      verbose: gearmanVerbose(settings.logLevel),
      random: Math.random,
      payloads: this.store.payload ? { payload: (id) => this.store.payload!(id) } : undefined,
    });
    this.#writer = new StoreWriter(this.store, ({ added, error }) => {
      if (error) this.logger.limited("store_error", 5000, "error", "store commit failed", { error: error.message, jobs: added.length });
      this.core.persisted(added, error ? `store: ${error.message}` : undefined, clock());
      this.#flush();
    }, edge.completionCommitDelayMs);
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.#listener?.port ?? this.settings.port;
  }

  get stats(): ServerStats {
    return {
      connections: this.#connections.size,
      refusedConnections: this.#refused,
      commits: this.#writer.commits,
      committedJobs: this.#writer.committedJobs,
    };
  }

  /**
   * A server address for `Client`/`Worker` `servers` that connects in
   * process, with no TCP port (Gearman::Server's `to_inprocess_server`).
   *
   * @example
   * ```ts
   * const client = new Client({ servers: [server.toInProcessServer()] });
   * ```
   */
  toInProcessServer(): InProcessServer {
    const key = `in-process:${++this.#inProcessCount}`;
    return {
      host: "in-process",
      port: 0,
      key,
      dial: () => {
        if (this.#stopping) return Promise.reject(new Error(`${key}: the server is stopping`));
        const pair = socketPair("[in-process]");
        this.#accept(pair.serverSide);
        return Promise.resolve(pair.clientSide);
      },
    };
  }

  /**
   * Starts a worker program whose stdin and stdout are its connection to
   * this server (Gearman::Server's `start_worker`): no port, no address.
   * The child gets `GEARMAN_WORKER_USE_STDIO=1`, which Perl's Gearman::Worker
   * understands; its stderr is this process's.
   */
  async startWorker(argv: readonly string[], env: Record<string, string> = {}): Promise<StartedWorker> {
    const child = await spawnOnSocket(argv, { ...env, GEARMAN_WORKER_USE_STDIO: "1" });
    const pair = socketPair(`[worker ${child.pid}]`);
    this.#accept(pair.serverSide);
    wireChild(pair, child);
    this.logger.info("worker process started", { pid: child.pid, command: argv.join(" ") });
    void child.exited.then((code) => this.logger.info("worker process exited", { pid: child.pid, code }));
    return { pid: child.pid, exited: child.exited, kill: (signal = "SIGTERM") => child.kill(signal) };
  }

  /** Replays the store into the core, then listens. */
  async start(): Promise<void> {
    const t0 = clock();
    const jobs = this.core.restore(await this.store.open(), clock());
    if (jobs > 0) this.logger.info("store replayed", { jobs, ms: clock() - t0, store: this.store.url });
    this.#flush();
    try {
      this.#listener = await listen(
        {
          host: this.settings.listen,
          port: this.settings.port,
          backlog: this.settings.backlog,
          keepAliveMs: this.#edge.keepAliveMs,
          transport: this.settings.transport,
        },
        (socket) => this.#accept(socket),
      );
    } catch (e) {
      // Nothing was served: a store file this start created goes again (a busy port leaves no gearbox.db).
      await (this.store.discard?.() ?? this.store.close());
      throw e;
    }
    this.#limitConnectionsToFiles();
    this.#sweep = setInterval(() => this.#sweepConnections(), SWEEP_MS);
    this.logger.info("listening", { address: `${this.settings.listen}:${this.port}`, store: this.store.url, version: VERSION });
  }

  /** Stops accepting, finishes store writes, closes every connection and the store. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /**
   * Graceful drain: stops accepting connections, keeps serving the existing
   * ones, and stops once no job is queued or running (or the drain timeout).
   */
  async drain(): Promise<void> {
    if (this.#draining || this.#stopping) return this.done;
    this.#draining = true;
    this.logger.info("draining: no new connections; stopping when no job is left", { jobs: this.core.jobs.size });
    await this.#listener?.close();
    if (this.#edge.drainTimeoutMs > 0) {
      this.#drainTimer = setTimeout(() => {
        this.logger.warn("drain timeout reached; stopping with jobs left", { jobs: this.core.jobs.size });
        void this.stop();
      }, this.#edge.drainTimeoutMs);
    }
    this.#checkDrained();
    return this.done;
  }

  async #stop(): Promise<void> {
    clearInterval(this.#sweep);
    clearTimeout(this.#timer);
    clearTimeout(this.#drainTimer);
    clearTimeout(this.#resumeTimer);
    if (!this.#draining) await this.#listener?.close();
    await this.#writer.flush();
    for (const c of this.#connections.values()) c.socket.end();
    await new Promise((r) => setTimeout(r, 10));
    for (const c of this.#connections.values()) c.socket.destroy();
    await this.store.close();
    this.logger.info("stopped");
    this.#resolveDone();
  }

  /**
   * Keeps max_connections under the process's file-descriptor limit, so that
   * a flood is refused by us (one log line per interval) rather than by
   * accept() failing with EMFILE, which the runtime retries in a busy loop.
   */
  #limitConnectionsToFiles(): void {
    const files = openFileLimit();
    if (files === undefined) return;
    const reserve = Math.min(FD_RESERVE, Math.floor(files / 2));
    const room = Math.max(1, files - reserve);
    if (this.settings.maxConnections <= room) return;
    this.logger.warn("max_connections lowered to stay under the open file descriptor limit (raise `ulimit -n` to serve more)", {
      max_connections: this.settings.maxConnections,
      now: room,
      fd_limit: files,
    });
    this.#fdLimited = files;
    this.#maxConnections = room;
  }

  #checkDrained(): void {
    if (this.#draining && this.core.idle && !this.#writer.pending) void this.stop();
  }

  #accept(socket: NetSocket): void {
    if (this.#stopping || this.#connections.size >= this.#maxConnections) {
      this.#refused++;
      this.core.count("connections_refused");
      if (this.#fdLimited === undefined) {
        this.logger.limited("max_connections", 10_000, "warn", "connection refused: too many connections", { max: this.#maxConnections });
      } else {
        this.logger.limited(
          "max_connections",
          10_000,
          "warn",
          "connection refused: too many connections for the open file descriptor limit (EMFILE avoided)",
          {
            max: this.#maxConnections,
            fd_limit: this.#fdLimited,
          },
        );
      }
      socket.destroy();
      return;
    }
    const id = ++this.#nextId;
    const t = clock();
    const conn = new Connection(id, socket, this.#limits, t);
    this.#connections.set(id, conn);
    this.core.open(id, socket.remoteAddress, socket.remotePort);
    socket.onData((chunk) => {
      const now = clock();
      conn.receive(chunk);
      // Behind input already waiting (held or over the output cap), the bytes wait too: requests keep their order.
      if (conn.stalledSince === undefined && !conn.held && !this.#takeInput(conn, now, now + TURN_BUDGET_MS)) this.#hold(conn);
      this.#flush();
    });
    socket.onDrain(() => {
      if (conn.stalledSince !== undefined) this.#flush();
    });
    socket.onClose(() => {
      conn.closed = true;
      this.#connections.delete(id);
      this.#stalled.delete(conn);
      this.#held.delete(conn);
      this.core.close(id, clock());
      this.#flush();
    });
  }

  /**
   * Hands a connection's input to the core in order: decoded frames first,
   * then read bytes a piece at a time. Stops (false) when its output is over
   * the cap, a reply of it is being built in slices, or `until` (clock
   * time) has passed; what is left waits for a later turn. True when all
   * input was taken.
   */
  #takeInput(conn: Connection, now: number, until: number): boolean {
    for (;;) {
      if (conn.closed) return true;
      if (conn.stalledSince !== undefined || this.core.busy(conn.id)) return false;
      if (conn.backlog.length > 0) {
        const frames = conn.backlog;
        conn.backlog = [];
        if (!this.#feed(conn, frames, now, until)) return conn.closed;
        continue;
      }
      if (!conn.undecoded) return true;
      // Replies held behind a store acknowledgement count too: a large packet decodes a piece at a time.
      if (conn.over(this.core.peers.get(conn.id)?.pendingBytes ?? 0)) {
        this.#stall(conn, now);
        return false;
      }
      if (clock() >= until) return false;
      conn.backlog = conn.decodeNext(now, DECODE_PIECE);
    }
  }

  /** Hands frames to the core; false when it stopped early (the rest are in the backlog, or the connection is gone). */
  #feed(conn: Connection, frames: Frame[], now: number, until: number): boolean {
    const peer = this.core.peers.get(conn.id);
    for (let i = 0; i < frames.length; i++) {
      if (i > 0 && (this.core.busy(conn.id) || (i % FRAME_CHECK === 0 && clock() >= until))) {
        conn.defer(frames, i);
        return false;
      }
      try {
        this.core.receive(conn.id, frames[i]!, now);
      } catch (e) {
        // A defect must cost one connection, never the process.
        this.core.count("internal_error");
        this.logger.error("internal error while handling a request; closing the connection", {
          conn: conn.id,
          error: e instanceof Error ? (e.stack ?? e.message) : String(e),
        });
        conn.socket.destroy();
        conn.closed = true;
        return false;
      }
      if (i + 1 < frames.length && conn.over(peer?.pendingBytes ?? 0)) {
        conn.defer(frames, i + 1);
        this.#stall(conn, now);
        return false;
      }
    }
    return true;
  }

  #hold(conn: Connection): void {
    conn.hold();
    this.#held.add(conn);
  }

  /** Runs held work on the next turn of the loop, after the reads of this one. */
  #schedulePump(): void {
    if (this.#pumpArmed || this.#stopping) return;
    this.#pumpArmed = true;
    setImmediate(() => this.#pump());
  }

  /**
   * One turn's share of held work, within TURN_BUDGET_MS: slices of bulk
   * admin work (not while the store has a bulk command's deletes to catch
   * up with: one commit of them must stay short too), then held frames,
   * connection by connection, each at least FRAME_CHECK frames.
   */
  #pump(): void {
    this.#pumpArmed = false;
    if (this.#stopping) return;
    const start = clock();
    const until = start + TURN_BUDGET_MS;
    while (this.core.bulk.pending > 0 && this.#storeKeepsUp() && clock() < until) {
      this.core.continueBulk(clock());
      this.#writeOutput(clock()); // its store changes reach the writer now, so #storeKeepsUp sees them
    }
    for (const conn of [...this.#held]) {
      if (conn.closed) {
        this.#held.delete(conn);
        continue;
      }
      if (conn.stalledSince !== undefined || this.core.busy(conn.id)) continue;
      // Whoever was served goes to the back of the line (a Set keeps insertion order).
      this.#held.delete(conn);
      if (this.#takeInput(conn, start, Math.max(until, clock() + 1))) conn.unhold(start);
      else this.#held.add(conn);
      if (clock() >= until) break;
    }
    this.#flush();
  }

  #storeKeepsUp(): boolean {
    if (this.#writer.queued < this.settings.adminSlice) return true;
    this.#writer.hurry();
    return false;
  }

  /** True when held work can go on now (bulk work waits for the store's commit, which flushes again). */
  #pumpNeeded(): boolean {
    if (this.core.bulk.pending > 0 && this.#storeKeepsUp()) return true;
    for (const conn of this.#held) {
      if (conn.closed || (conn.stalledSince === undefined && !this.core.busy(conn.id))) return true;
    }
    return false;
  }

  #stall(conn: Connection, now: number): void {
    conn.stall(now);
    this.#stalled.add(conn);
  }

  /**
   * Stalled connections whose output fell under the cap take input again,
   * backlog first, in a later turn of the event loop: a client that pipelined
   * many large listings gets one per turn, and everybody else a turn between.
   */
  #scheduleResume(): void {
    if (this.#resumeTimer !== undefined || this.#stopping || !this.#resumable().length) return;
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = undefined;
      const now = clock();
      for (const conn of this.#resumable()) {
        this.#stalled.delete(conn);
        if (conn.closed) continue;
        conn.unstall(now);
        if (conn.held) continue; // the pump takes its input
        if (!this.#takeInput(conn, now, clock() + TURN_BUDGET_MS)) this.#hold(conn);
      }
      this.#flush();
    }, 0);
  }

  #resumable(): Connection[] {
    return [...this.#stalled].filter((c) => c.closed || !c.over(this.core.peers.get(c.id)?.pendingBytes ?? 0));
  }

  /**
   * Writes the core's output and carries out its effects, right after each
   * read: replies go out with the least latency, while store writes of the
   * whole loop turn still share one commit (the writer batches on its own).
   */
  #flush(): void {
    const now = clock();
    this.#writeOutput(now);
    if (this.#stalled.size > 0) this.#scheduleResume();
    if (this.#pumpNeeded()) this.#schedulePump();
    this.#armTimer();
    this.#checkDrained();
  }

  #writeOutput(now: number): void {
    const drained: Drained = this.core.drain();
    for (const [id, chunks] of drained.output) {
      const conn = this.#connections.get(id);
      if (!conn) continue;
      if (!conn.write(chunks)) this.#drop(conn, "output buffer over the hard cap");
      else if (conn.over(this.core.peers.get(id)?.pendingBytes ?? 0)) this.#stall(conn, now);
    }
    for (const e of drained.effects) {
      switch (e.kind) {
        case "persist":
          this.#writer.add(e.job);
          break;
        case "forget":
          this.#writer.remove(e.id);
          break;
        case "update":
          this.#writer.update(e.job);
          break;
        case "replace":
          this.#writer.replace(e.remove, e.add);
          break;
        case "close": {
          const conn = this.#connections.get(e.conn);
          if (conn) {
            this.logger.limited(`close:${e.reason}`, 10_000, "debug", "closing connection", { conn: e.conn, reason: e.reason });
            conn.closeGracefully();
          }
          break;
        }
        case "backup":
          void this.#backup(e.conn, e.name, e.reply);
          break;
        case "shutdown":
          this.logger.info(e.graceful ? "admin requested graceful shutdown" : "admin requested shutdown");
          if (e.graceful) void this.drain();
          else setTimeout(() => void this.stop(), 0); // after the OK is written
          break;
        case "log":
          this.logger.log(e.level, e.message, e.fields);
          break;
      }
    }
  }

  /** Copies the store into the backup directory while serving, then answers the admin command. */
  async #backup(conn: number, name: string, reply: PendingAck): Promise<void> {
    this.core.answer(conn, reply, await this.#backupReply(name));
    this.#flush();
  }

  async #backupReply(name: string): Promise<string> {
    const dir = this.settings.backupDir;
    if (dir === "") return errLine("BACKUP_DISABLED", "backups are off: set backup_dir (--backup-dir)");
    if (!this.store.backup) return errLine("BACKUP_UNSUPPORTED", `the ${this.store.url} store has nothing on disk to back up`);
    const path = join(dir, name);
    const t0 = clock();
    this.logger.info("store backup started", { path });
    try {
      const r = await this.store.backup(path);
      const fields = { path, jobs: r.jobs, damaged_rows_left_out: r.damaged, seconds: ((clock() - t0) / 1000).toFixed(2) };
      if (r.damaged > 0) this.logger.error("store backup written without damaged rows", fields);
      else this.logger.info("store backup written", fields);
      return `OK ${r.jobs} ${r.damaged}\n`;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const code = e instanceof StoreError && (e.code === "BACKUP_BUSY" || e.code === "BACKUP_EXISTS") ? e.code : "BACKUP_FAILED";
      this.logger.log(code === "BACKUP_FAILED" ? "error" : "warn", "store backup refused or failed", { path, code, error: message });
      return errLine(code, message);
    }
  }

  #armTimer(): void {
    const at = this.core.nextDeadline();
    if (at === undefined || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      this.core.tick(clock());
      this.#flush();
    }, Math.max(0, at - clock()));
  }

  #drop(conn: Connection, reason: string): void {
    this.core.count(`dropped_${reason.replaceAll(" ", "_")}`);
    this.logger.limited(`drop:${reason}`, 10_000, "warn", "dropping connection", {
      conn: conn.id,
      address: conn.socket.remoteAddress,
      reason,
    });
    conn.socket.destroy();
  }

  /** Enforces the handshake, half-packet and stalled-output deadlines. */
  #sweepConnections(): void {
    const now = clock();
    const s = this.#edge;
    for (const conn of this.#connections.values()) {
      if (conn.stalledSince !== undefined) {
        // We are not reading: a half-sent packet is ours to wait for, not the client's fault.
        if (s.outputStallTimeoutMs > 0 && now - conn.stalledSince > s.outputStallTimeoutMs) {
          this.#drop(conn, "output not read before the stall timeout");
        }
      } else if (conn.held) {
        // Its input waits for its turn: we are not reading, so no deadline of the client's runs.
      } else if (s.handshakeTimeoutMs > 0 && !conn.greeted && now - conn.openedAt > s.handshakeTimeoutMs) {
        this.#drop(conn, "no request before the handshake timeout");
      } else if (s.partialPacketTimeoutMs > 0 && conn.partialSince !== undefined && now - conn.partialSince > s.partialPacketTimeoutMs) {
        const rate = (conn.bytesIn - conn.partialBytesAtStart) / ((now - conn.partialSince) / 1000);
        if (rate < s.minPartialRate) this.#drop(conn, "half-sent packet too slow");
      }
    }
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
