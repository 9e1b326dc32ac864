/**
 * The input pump: hands each connection's reads to the core in order,
 * within a budget per loop turn (docs/architecture.md §4). A large read is
 * decoded a piece at a time; frames go to the core until the turn's budget
 * is used up, the connection's output is over its cap, or the core is busy
 * building a reply of it in slices. What is left is held (the socket
 * paused) and pumped on later turns, after slices of bulk admin work, each
 * held connection in turn.
 *
 * @module
 */
import type { JobServer } from "../core/mod.ts";
import type { Logger } from "../log/logger.ts";
import type { Frame } from "../protocol/decoder.ts";
import { now as elapsed } from "../runtime/host_and_process.ts";
import type { Backpressure } from "./backpressure.ts";
import type { Connection } from "./connection.ts";
import type { StoreWriter } from "./store_writer.ts";

/**
 * How long one loop turn may spend on held work before others are served:
 * frames of a large read (100,000 CAN_DO in one burst), across connections,
 * and slices of bulk admin work. Checked every FRAME_CHECK frames.
 */
const TURN_BUDGET_MS = 4;
const FRAME_CHECK = 64;
/**
 * Frames of one read always handed over in the same turn before the budget
 * is looked at: a pipelined burst of this size still shares one store
 * commit (and one turn) even while the runtime is cold or the machine
 * loaded; only longer bursts (100,000 CAN_DO) are spread over turns.
 */
const MIN_FRAMES_PER_TURN = 1024;
/** Read bytes decoded at a time (about 800 small packets). */
const DECODE_PIECE = 16 * 1024;

/** What the pump needs of the server. */
export interface PumpHost {
  readonly core: JobServer;
  readonly writer: StoreWriter;
  readonly logger: Logger;
  /** Store changes that may wait before bulk work pauses for a commit (`admin_slice`). */
  readonly adminSlice: number;
  /** Output over the cap stalls a connection; a worker whose updates go to a stalled client is throttled (backpressure.ts). */
  readonly backpressure: Pick<Backpressure, "stall" | "throttled">;
  /** Writes the core's output and carries out its effects. */
  writeOutput(now: number): void;
  flush(): void;
  stopping(): boolean;
  /** The server's time, given to the core (its clock); the turn's budget is real elapsed time. */
  now(): number;
}

export class InputPump {
  readonly #host: PumpHost;
  /** Connections with frames held for a later turn (see TURN_BUDGET_MS) or behind a reply built in slices. */
  readonly #held = new Set<Connection>();
  #armed = false;

  constructor(host: PumpHost) {
    this.#host = host;
  }

  /** New bytes were read; behind input already waiting (held or over the output cap) they wait too: requests keep their order. */
  read(conn: Connection, now: number): void {
    if (conn.stalledSince === undefined && !conn.held && !this.#take(conn, now, elapsed() + TURN_BUDGET_MS)) this.#hold(conn);
  }

  /** The connection's output fell under the cap again: its waiting input goes on (unless held: the pump takes it). */
  resume(conn: Connection, now: number): void {
    if (conn.held) return;
    if (!this.#take(conn, now, elapsed() + TURN_BUDGET_MS)) this.#hold(conn);
  }

  /** The connection closed. */
  forget(conn: Connection): void {
    this.#held.delete(conn);
  }

  /** Runs held work on the next turn of the loop, after the reads of this one, when some can go on now. */
  schedule(): void {
    if (this.#armed || (this.#held.size === 0 && this.#host.core.view.bulk.pending === 0)) return; // asked after every read: the common case first
    if (!this.#needed() || this.#host.stopping()) return;
    this.#armed = true;
    setImmediate(() => this.#pump());
  }

  /**
   * Hands a connection's input to the core in order: decoded frames first,
   * then read bytes a piece at a time. Stops (false) when its output is over
   * the cap, a reply of it is being built in slices, or `until` (real elapsed
   * time) has passed; what is left waits for a later turn. True when all
   * input was taken.
   */
  #take(conn: Connection, now: number, until: number): boolean {
    const core = this.#host.core;
    for (;;) {
      if (conn.closed) return true;
      if (conn.stalledSince !== undefined || core.busy(conn.id) || this.#host.backpressure.throttled(conn)) return false;
      if (conn.backlog.length > 0) {
        // Frames not handed over go back into the (empty) spare, which becomes the backlog.
        const frames = conn.backlog;
        conn.backlog = conn.spare;
        const all = this.#feed(conn, frames, now, until);
        frames.length = 0;
        conn.spare = frames;
        if (!all) return conn.closed;
        continue;
      }
      if (!conn.undecoded) return true;
      // Replies held behind a store acknowledgement count too: a large packet decodes a piece at a time.
      if (conn.over(core.pendingBytes(conn.id))) {
        this.#host.backpressure.stall(conn, now);
        return false;
      }
      if (elapsed() >= until) return false;
      conn.decodeNext(now, DECODE_PIECE);
    }
  }

  /** Hands frames to the core; false when it stopped early (the rest are in the backlog, or the connection is gone). */
  #feed(conn: Connection, frames: Frame[], now: number, until: number): boolean {
    const core = this.#host.core;
    for (let i = 0; i < frames.length; i++) {
      if (
        i > 0 &&
        (core.busy(conn.id) || this.#host.backpressure.throttled(conn) ||
          (i >= MIN_FRAMES_PER_TURN && i % FRAME_CHECK === 0 && elapsed() >= until))
      ) {
        conn.defer(frames, i);
        return false;
      }
      try {
        core.receive(conn.id, frames[i]!, now);
        conn.decoder.recycle(frames[i]!); // the core keeps no frame: its object serves a later packet
      } catch (e) {
        // A defect must cost one connection, never the process.
        core.count("internal_error");
        this.#host.logger.error("internal error while handling a request; closing the connection", {
          conn: conn.id,
          error: e instanceof Error ? (e.stack ?? e.message) : String(e),
        });
        conn.socket.destroy();
        conn.closed = true;
        return false;
      }
      if (i + 1 < frames.length && conn.over(core.pendingBytes(conn.id))) {
        conn.defer(frames, i + 1);
        this.#host.backpressure.stall(conn, now);
        return false;
      }
    }
    return true;
  }

  #hold(conn: Connection): void {
    conn.hold();
    this.#held.add(conn);
  }

  /**
   * One turn's share of held work, within TURN_BUDGET_MS: slices of bulk
   * admin work (not while the store has a bulk command's deletes to catch
   * up with: one commit of them must stay short too), then held frames,
   * connection by connection, each at least FRAME_CHECK frames.
   */
  #pump(): void {
    this.#armed = false;
    const { core } = this.#host;
    if (this.#host.stopping()) return;
    const start = this.#host.now();
    const until = elapsed() + TURN_BUDGET_MS;
    while (core.view.bulk.pending > 0 && this.#storeKeepsUp() && elapsed() < until) {
      core.continueBulk(this.#host.now());
      this.#host.writeOutput(this.#host.now()); // its store changes reach the writer now, so #storeKeepsUp sees them
    }
    for (const conn of [...this.#held]) {
      if (conn.closed) {
        this.#held.delete(conn);
        continue;
      }
      if (conn.stalledSince !== undefined || core.busy(conn.id) || this.#host.backpressure.throttled(conn)) continue;
      // Whoever was served goes to the back of the line (a Set keeps insertion order).
      this.#held.delete(conn);
      if (this.#take(conn, start, Math.max(until, elapsed() + 1))) conn.unhold(start);
      else this.#held.add(conn);
      if (elapsed() >= until) break;
    }
    this.#host.flush();
  }

  #storeKeepsUp(): boolean {
    if (this.#host.writer.queued < this.#host.adminSlice) return true;
    this.#host.writer.hurry();
    return false;
  }

  /** True when held work can go on now (bulk work waits for the store's commit, which flushes again). */
  #needed(): boolean {
    const core = this.#host.core;
    if (core.view.bulk.pending > 0 && this.#storeKeepsUp()) return true;
    for (const conn of this.#held) {
      if (conn.closed || (conn.stalledSince === undefined && !core.busy(conn.id) && !this.#host.backpressure.throttled(conn))) return true;
    }
    return false;
  }
}
