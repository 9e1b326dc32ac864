/**
 * What each deadline of the heap does when `JobServer.tick` reaches it: a scheduled job becomes
 * runnable, a worker's time or lease runs out, sleeping workers are woken again, a kept ended
 * job is forgotten. A deadline whose job moved on since it was set does nothing.
 *
 * @module
 */
import type { CoreContext } from "./core_context.ts";
import { requeue } from "./job_endings.ts";
import type { Timer } from "./timer.ts";
import { wake } from "./worker_scheduling.ts";

/** Runs one deadline that is due. */
export function runTimer(core: CoreContext, t: Timer, now: number): void {
  switch (t.kind) {
    case "due":
      if (t.job.state === "scheduled") {
        t.job.fn.scheduled[t.job.priority]--;
        core.enqueue(t.job, now);
      }
      return;
    case "timeout":
      if (t.job.state === "running" && t.job.assignment === t.assignment) {
        core.count(t.lease ? "lease_expired" : "worker_timeout");
        requeue(core, t.job, now, t.lease ? "lease expired" : "worker timeout");
      }
      return;
    case "rewake":
      t.fn.rewakeArmed = false;
      if (t.fn.queue.size > 0) wake(core, t.fn, now);
      return;
    case "expire":
      if (t.job.ended !== undefined && t.job.ended.deleteAfter <= now && core.ended.remove(t.job)) {
        core.count("ended_expired");
        core.effect({ kind: "forget", id: t.job.id });
      }
      return;
  }
}
