/**
 * Backpressure at the edge: a connection whose unread output is over
 * `max_output_buffer` is stalled (its input paused, its decoded frames
 * waiting), and takes input again in a later turn once the client has read
 * enough (docs/reliability.md R1). Across connections too: a worker whose
 * job's updates go to a client that does not read is not read from either
 * ({@link Backpressure.throttled}), so its WORK_DATA waits in the worker's
 * own socket, never in our memory.
 *
 * @module
 */
import type { JobServer } from "../core/mod.ts";
import type { Connection } from "./connection.ts";

/** What backpressure needs of the server. */
export interface BackpressureHost {
  /** The core: the bytes it still holds for a connection, and whom a worker's updates go to. */
  readonly core: Pick<JobServer, "pendingBytes" | "consumers">;
  /** Hands the connection's waiting input to the core again (the input pump). */
  resume(conn: Connection, now: number): void;
  flush(): void;
  stopping(): boolean;
  /** The server's time (its clock); the resume itself is a real next-turn timer, I/O pacing. */
  now(): number;
}

export class Backpressure {
  readonly #host: BackpressureHost;
  /** Connections whose input is paused because their output is over the cap. */
  readonly #stalled = new Set<Connection>();
  #resumeTimer: ReturnType<typeof setTimeout> | undefined;

  readonly #connections: ReadonlyMap<number, Connection>;

  /** `connections`: the open ones by id (a worker's consumers are named by id). */
  constructor(host: BackpressureHost, connections: ReadonlyMap<number, Connection>) {
    this.#host = host;
    this.#connections = connections;
  }

  /** Output went over the cap: pause the connection's input until it is read. */
  stall(conn: Connection, now: number): void {
    conn.stall(now);
    this.#stalled.add(conn);
  }

  /**
   * True when the worker's updates go to a connection over its output cap
   * (a client that does not read): its input waits until that client reads
   * or is dropped (`output_stall_timeout`); O(listeners of its job), asked
   * after every frame it sends.
   */
  throttled(worker: Connection): boolean {
    const { core } = this.#host;
    const consumers = core.consumers(worker.id);
    for (let i = 0, n = consumers.listenerCount; i < n; i++) {
      const c = consumers.listenerAt(i);
      const conn = this.#connections.get(c.id);
      if (conn !== undefined && !conn.closed && conn.over(c.pendingBytes)) return true;
    }
    return false;
  }

  /** How many connections are stalled now. */
  get stalled(): number {
    return this.#stalled.size;
  }

  /** The connection closed. */
  forget(conn: Connection): void {
    this.#stalled.delete(conn);
  }

  /**
   * Stalled connections whose output fell under the cap take input again,
   * backlog first, in a later turn of the event loop: a client that pipelined
   * many large listings gets one per turn, and everybody else a turn between.
   */
  scheduleResume(): void {
    if (this.#stalled.size === 0) return;
    if (this.#resumeTimer !== undefined || this.#host.stopping() || !this.#resumable().length) return;
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = undefined;
      const now = this.#host.now();
      for (const conn of this.#resumable()) {
        this.#stalled.delete(conn);
        if (conn.closed) continue;
        conn.unstall(now);
        this.#host.resume(conn, now);
      }
      this.#host.flush();
    }, 0);
  }

  stop(): void {
    clearTimeout(this.#resumeTimer);
  }

  #resumable(): Connection[] {
    return [...this.#stalled].filter((c) => c.closed || !c.over(this.#host.core.pendingBytes(c.id)));
  }
}
