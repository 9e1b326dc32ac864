/**
 * One job as the console's `status json` (and `gearbox top`) shows it: its
 * settings, state, last run and error, and every process with its memory.
 *
 * @module
 */
import type { DriverJob } from "../client/driver_console.ts";
import { processRss } from "../runtime/host_and_process.ts";
import type { JobGroup } from "./job_group.ts";

export function jobStatus(g: JobGroup, state: DriverJob["state"], waiting: number, now: number): DriverJob {
  return {
    name: g.name,
    functions: g.def.functions,
    kind: g.def.kind,
    min: g.min,
    max: g.max,
    current: g.current,
    state,
    crashes: g.crashes,
    waiting,
    lastrun: g.lastrun,
    lasterror: g.lasterror,
    lasterror_msg: g.lasterrorMsg,
    failures_in_row: g.failuresInRow,
    processes: [...g.processes.values()].map((p) => ({
      pid: p.pid,
      state: p.state,
      started: p.startedAt,
      uptime_ms: now - p.startedAt,
      jobs_done: p.jobsDone,
      job: p.jobHandle ?? null,
      rss_bytes: processRss(p.pid) ?? null,
    })),
  };
}
