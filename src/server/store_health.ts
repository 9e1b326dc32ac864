/**
 * Whether the store answers, logged once per change of state rather than
 * once per failed statement: the first commit, heartbeat or read that
 * cannot reach the store logs `store unreachable`; the first that succeeds
 * afterwards logs `store reachable again` with how long it lasted and how
 * many commits failed meanwhile (their submitters got a Gearman ERROR).
 * Other store errors (out of space, a refused row) are not an outage: they
 * are logged at most once per 5 s, as before.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { StoreError } from "../store/job_store.ts";
import type { Clock } from "./clock.ts";

/** What failed: a group commit, a cluster heartbeat or adoption, a workload read. */
export type StoreUse = "commit" | "heartbeat" | "read";

export class StoreHealth {
  readonly #logger: Logger;
  readonly #clock: Clock;
  /** When the store stopped answering (server clock), while it does not. */
  #downSince: number | undefined;
  #failed: Record<StoreUse, number> = { commit: 0, heartbeat: 0, read: 0 };
  /** Outages seen so far (for stats and tests). */
  outages = 0;

  constructor(logger: Logger, clock: Clock) {
    this.#logger = logger;
    this.#clock = clock;
  }

  /** True while the store is unreachable. */
  get down(): boolean {
    return this.#downSince !== undefined;
  }

  /** A use of the store failed with `error`. */
  failed(use: StoreUse, error: Error, jobs = 0): void {
    if (!unreachable(error)) {
      this.#logger.limited(`store_error:${use}`, 5000, "error", `store ${use} failed`, { error: error.message, jobs });
      return;
    }
    this.#failed[use]++;
    if (this.#downSince !== undefined) return;
    this.#downSince = this.#clock.now();
    this.outages++;
    this.#logger.error("store unreachable: submissions are answered ERROR until it answers again", {
      error: error.message,
      during: use,
    });
  }

  /** A use of the store succeeded: ends an outage, if there was one. */
  answered(): void {
    if (this.#downSince === undefined) return;
    const f = this.#failed;
    this.#logger.warn("store reachable again", {
      down_ms: this.#clock.now() - this.#downSince,
      failed_commits: f.commit,
      failed_heartbeats: f.heartbeat,
      failed_reads: f.read,
    });
    this.#downSince = undefined;
    this.#failed = { commit: 0, heartbeat: 0, read: 0 };
  }
}

/** The store could not be reached (a lost or refused connection, a database shutting down or starting). */
export function unreachable(error: Error): boolean {
  return error instanceof StoreError && error.code === "STORE_UNAVAILABLE";
}
