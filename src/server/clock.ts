/**
 * Where the server's time comes from: `Clock`, the time the core is given
 * with every call and the timers of the deadlines the server owns (the
 * core's next deadline, the connection sweep, the drain timeout). It is
 * injected (`createServer({ clock })`) so that tests and embedders can run
 * the server on a `ManualClock` and advance time instead of waiting for it;
 * by default it is the process's real clock.
 *
 * Timers that only pace I/O stay on the runtime's own: the store writer's
 * batching and `completion_commit_delay`, the backpressure resume, the input
 * pump's turns and its 4 ms budget (real elapsed time), the grace before
 * `stop` destroys sockets (docs/architecture.md §1, src/server/).
 *
 * @module
 */
import { systemClock } from "../runtime/system_clock.ts";

/** A clock and a timer source: ms since the Unix epoch, and one-shot timers on that clock. */
export interface Clock {
  /** The current time, in ms since the Unix epoch (epoch jobs compare against it). */
  now(): number;
  /** Calls `fn` once, `ms` from now; the handle cancels it. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer (an undefined or fired handle is ignored). */
  clearTimeout(handle: unknown): void;
}

/** The process's real clock: `Date.now()` and the runtime's timers. */
export const SYSTEM_CLOCK: Clock = systemClock;
