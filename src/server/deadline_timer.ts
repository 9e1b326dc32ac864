/**
 * The one timer for the core's next deadline, on the server's Clock: after
 * each flush the server asks `JobServer.nextDeadline` and the timer is moved
 * earlier if that is sooner; when it fires the core's due timers run
 * (`JobServer.tick`) and the server flushes.
 *
 * @module
 */
import type { JobServer } from "../core/mod.ts";
import type { Clock } from "./clock.ts";

export class DeadlineTimer {
  readonly #core: JobServer;
  readonly #clock: Clock;
  readonly #flush: () => void;
  #timer: unknown;
  #at = Infinity;

  constructor(core: JobServer, clock: Clock, flush: () => void) {
    this.#core = core;
    this.#clock = clock;
    this.#flush = flush;
  }

  /** Arms the timer for the core's next deadline, if it is sooner than the one armed. */
  arm(): void {
    const at = this.#core.nextDeadline();
    if (at === undefined || at >= this.#at) return;
    this.#clock.clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = this.#clock.setTimeout(() => {
      this.#at = Infinity;
      this.#core.tick(this.#clock.now());
      this.#flush();
    }, Math.max(0, at - this.#clock.now()));
  }

  stop(): void {
    this.#clock.clearTimeout(this.#timer);
  }
}
