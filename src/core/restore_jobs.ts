/**
 * Start-up: the stored jobs given back to the core before any connection,
 * one at a time, so a million rows are never all in memory twice. Live jobs
 * are scheduled again; ended ones go back to the ended set with their
 * expiry.
 *
 * @module
 */
import type { CoreContext } from "./core_context.ts";
import type { Job, StoredJob } from "./job.ts";
import { uniqueKeyOf } from "./unique_keys.ts";
import type { JobTable } from "./job_table.ts";

const EMPTY = new Uint8Array(0);

/** What replaying needs besides the table: scheduling, timers and effects. */
export type RestoreContext = Pick<CoreContext, "schedule" | "at" | "effect">;

/** Loads stored jobs into the table; returns how many rows were read. */
export function restoreJobs(table: JobTable, core: RestoreContext, stored: Iterable<StoredJob>, now: number): number {
  let count = 0;
  for (const s of stored) {
    count++;
    table.noteId(s.id);
    if (table.jobs.has(s.id) || table.ended.get(s.id)) continue;
    if (s.data === undefined && (!table.options.storeReadsPayloads || s.unique === "-")) {
      throw new Error(`the store replayed job ${s.id} without its workload`);
    }
    restoreOne(table, core, s, now);
  }
  return count;
}

/** Enters one stored job: live ones are scheduled (waking workers), ended ones go back to the ended set. */
export function restoreOne(table: JobTable, core: RestoreContext, s: StoredJob, now: number): Job {
  const fn = table.fn(s.function, true, true)!;
  const prefix = table.replayedPrefix(s.handle);
  const job = table.newJob(fn, s.id, prefix, uniqueKeyOf(s.unique, s.data ?? EMPTY), s.data, s.priority, true, s.createdAt);
  if (s.reducer !== "") job.reducer = s.reducer;
  job.runAt = s.runAt;
  job.retries = s.retries;
  if (s.failures.length > 0) job.failures = [...s.failures];
  job.persisted = true;
  table.holdOrLeavePayload(job);
  if (!s.ended) {
    core.schedule(job, now);
    return job;
  }
  table.removeJob(job);
  job.ended = { ...s.ended };
  for (const old of table.ended.add(job)) core.effect({ kind: "forget", id: old.id });
  core.at(job.ended.deleteAfter, { kind: "expire", job });
  return job;
}
