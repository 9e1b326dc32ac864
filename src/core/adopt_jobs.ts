/**
 * A dead cluster node's jobs, adopted while the server runs (docs/cluster.md):
 * each is entered as a replayed one is (restore_jobs.ts), with its id and
 * handle unchanged, and scheduled, which wakes sleeping workers of its
 * function. The store records no grabs, so whether a job was running on the
 * dead node is not knowable; a job that was runnable there (its run time had
 * come) may have been, and its failure log says so ("node lost"), written
 * back to the store. Its retry count is not charged: the job did not fail.
 *
 * @module
 */
import { toStored } from "./job.ts";
import type { StoredJob } from "./job.ts";
import type { JobTable } from "./job_table.ts";
import { type RestoreContext, restoreOne } from "./restore_jobs.ts";

/** Enters adopted jobs; returns how many were new to this server. */
export function adoptJobs(table: JobTable, core: RestoreContext, stored: Iterable<StoredJob>, from: string, now: number): number {
  const o = table.options;
  let count = 0;
  for (const s of stored) {
    if (table.jobs.has(s.id) || table.ended.get(s.id)) continue;
    if (s.data === undefined && (!o.storeReadsPayloads || s.unique === "-")) {
      throw new Error(`the store gave adopted job ${s.id} without its workload`);
    }
    count++;
    const mayHaveRun = s.ended === undefined && s.runAt <= now && o.maxFailureLog > 0;
    const job = restoreOne(table, core, mayHaveRun ? { ...s, failures: lost(s, from, now, o.maxFailureLog, o.maxFailureMessage) } : s, now);
    if (mayHaveRun) core.effect({ kind: "update", job: toStored(job) });
  }
  return count;
}

/** The failure log with a "node lost" entry appended, bounded as job_endings.ts bounds it. */
function lost(s: StoredJob, from: string, now: number, maxEntries: number, maxMessage: number): StoredJob["failures"] {
  const message = `node lost: node ${from} stopped heartbeating; adopted (it may have been running there)`.slice(0, maxMessage);
  const failures = [...s.failures, { at: now, message }];
  return failures.length > maxEntries ? failures.slice(failures.length - maxEntries) : failures;
}
