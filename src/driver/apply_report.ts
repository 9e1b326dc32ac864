/**
 * What a worker process's report (`child.ts`, over the report listener)
 * changes: its state (busy, idle, stopping after a timeout), its job, and
 * its job group's last run and last error, with a log line for a failed
 * job or a retirement.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { NoteEvent } from "./event_log.ts";
import type { ChildReport } from "./job_definition.ts";
import type { JobGroup, WorkerProcess } from "./job_group.ts";

/** Applies report `r` of process `p` (pid `pid`) of group `g`, received at `now`. */
export function applyReport(g: JobGroup, p: WorkerProcess, pid: number, r: ChildReport, now: number, log: Logger, event: NoteEvent): void {
  if (p.state === "starting") p.state = "idle";
  if (r.event === "start") {
    if (!p.stopRequested) p.state = "busy";
    p.jobHandle = r.handle;
    p.jobStartedAt = now;
    return;
  }
  if (r.event === "retire") {
    // The process failed a timed-out job and exits on purpose: not a crash; replaced at once.
    log.warn("job timeout: the process fails the job and exits", {
      job: g.name,
      pid,
      handle: p.jobHandle ?? "-",
      reason: r.reason,
    });
    event("timeout", g.name, `pid ${pid} exits: ${r.reason}`);
    p.stopRequested = true;
    p.state = "stopping";
    p.retiredAt = now;
    return;
  }
  if (r.event === "done" || r.event === "fail") {
    if (p.jobStartedAt !== undefined) g.noteRun(now - p.jobStartedAt);
    if (!p.stopRequested) p.state = "idle";
    p.jobHandle = undefined;
    p.jobStartedAt = undefined;
    p.idleSince = now;
    p.jobsDone++;
    g.lastrun = now;
    if (r.event === "done") g.failuresInRow = 0;
    else {
      const exit = r.exitStatus === undefined ? "" : ` (exit status ${r.exitStatus})`;
      const message = r.message.includes(`exit status ${r.exitStatus}`) ? r.message : r.message + exit;
      g.lasterror = now;
      g.lasterrorMsg = message.slice(0, 1000);
      g.failuresInRow++;
      log.info("job failed", {
        job: g.name,
        pid,
        function: r.function,
        handle: r.handle ?? "-",
        ...(r.exitStatus === undefined ? {} : { exit_status: r.exitStatus }),
        message: r.message.slice(0, 1000),
      });
    }
  }
}
