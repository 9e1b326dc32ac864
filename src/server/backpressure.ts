/**
 * Backpressure at the edge: a connection whose unread output is over
 * `max_output_buffer` is stalled (its input paused, its decoded frames
 * waiting), and takes input again in a later turn once the client has read
 * enough (docs/reliability.md R1).
 *
 * @module
 */
import type { Connection } from "./connection.ts";

/** What backpressure needs of the server. */
export interface BackpressureHost {
  /** Reply bytes the core still holds for the connection (behind a store acknowledgement). */
  pendingBytes(conn: Connection): number;
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

  constructor(host: BackpressureHost) {
    this.#host = host;
  }

  /** Output went over the cap: pause the connection's input until it is read. */
  stall(conn: Connection, now: number): void {
    conn.stall(now);
    this.#stalled.add(conn);
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
    return [...this.#stalled].filter((c) => c.closed || !c.over(this.#host.pendingBytes(c)));
  }
}
