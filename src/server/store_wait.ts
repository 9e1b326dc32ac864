/**
 * Opening the store at start, waiting for it if asked (`store_wait`): a
 * database server that is still starting (or restarting) answers
 * STORE_UNAVAILABLE; the server tries again, with a growing pause up to
 * 5 s, until the store answers or the wait is over. Any other failure (a
 * damaged file, a foreign database, a bad URL) is final at once. It logs
 * when it starts waiting and when the store answered, not every attempt.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { type JobStore, type StoredJob, StoreError } from "../store/job_store.ts";
import type { Clock } from "./clock.ts";

const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 5000;

export async function openWaiting(store: JobStore, waitMs: number, clock: Clock, logger: Logger): Promise<Iterable<StoredJob>> {
  const start = clock.now();
  let pause = FIRST_PAUSE_MS;
  for (let attempt = 1;; attempt++) {
    try {
      const jobs = await store.open((message, fields) => logger.info(message, fields));
      if (attempt > 1) logger.info("store reachable", { store: store.url, attempts: attempt, waitedMs: clock.now() - start });
      return jobs;
    } catch (e) {
      const left = start + waitMs - clock.now();
      if (!(e instanceof StoreError) || e.code !== "STORE_UNAVAILABLE" || left <= 0) throw e;
      if (attempt === 1) logger.warn("store unreachable; waiting for it", { store: store.url, error: e.message, waitMs });
      await new Promise((r) => clock.setTimeout(() => r(undefined), Math.min(pause, left)));
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}
