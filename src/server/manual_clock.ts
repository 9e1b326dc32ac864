/**
 * A clock that moves only when told: `advance(ms)` fires the timers that
 * fall due, in order of due time (then of scheduling), each seeing `now()`
 * at its own due time. Tests run a server on it to check retry delays,
 * leases, epoch jobs, deadlines and the drain timeout without waiting;
 * an embedder may use it to drive a server's time itself.
 *
 * @example
 * ```ts
 * import { createServer, ManualClock } from "gearbox";
 * const clock = new ManualClock();
 * const server = createServer({ port: 0, clock });
 * await server.start();
 * clock.advance(30_000); // every deadline of the next 30 s runs now
 * await server.stop();
 * ```
 *
 * @module
 */
import type { Clock } from "./clock.ts";

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** 2026-01-01T00:00:00Z: a fixed, realistic start, so epoch jobs and log times look as they do in production. */
const DEFAULT_START = 1_767_225_600_000;

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Pending>();

  constructor(start = DEFAULT_START) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === "number") this.#timers.delete(handle);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** The due time of the next timer, or undefined. */
  get nextAt(): number | undefined {
    return this.#next()?.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer due by then in order;
   * a timer set by one that fires runs too if it falls due in the window.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance: ${ms} is not a non-negative number of ms`);
    const end = this.#now + ms;
    for (let t = this.#next(); t !== undefined && t.at <= end; t = this.#next()) {
      this.#timers.delete(t.seq);
      this.#now = Math.max(this.#now, t.at);
      t.fn();
    }
    this.#now = end;
  }

  #next(): Pending | undefined {
    let best: Pending | undefined;
    for (const t of this.#timers.values()) {
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
