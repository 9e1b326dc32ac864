/**
 * What the flight recorder (`flight_recorder.ts`) hears from the driver: a
 * worker process's reports (a run starts, completes, fails or times out)
 * and its exit during a run (it died, or a signal killed it); for a command
 * job, its program's pid and peak memory.
 *
 * @module
 */
import type { ChildExit } from "../runtime/process.ts";
import { TIMEOUT_EXIT_STATUS } from "./child.ts";
import type { FlightRecorder } from "./flight_recorder.ts";
import type { ChildReport } from "./job_definition.ts";

/** How often the memory of processes with a run under way is sampled. */
export const RSS_SAMPLE_MS = 250;

/** Records report `r` of process `pid` of job `job` (before `applyReport` changes the process). */
export function recordReport(rec: FlightRecorder, job: string, pid: number, r: ChildReport, now: number): void {
  if (r.event === "start") rec.begin(job, pid, r.handle, r.function, now);
  else if (r.event === "command") rec.command(pid, r.pid);
  else if (r.event === "command_end") rec.commandEnded(pid, r.peakRssBytes);
  else if (r.event === "done") rec.end(pid, { outcome: "complete" }, now);
  else if (r.event === "fail") {
    const timedOut = r.exitStatus === TIMEOUT_EXIT_STATUS && r.message.startsWith("timed out");
    rec.end(pid, { outcome: timedOut ? "timeout" : "fail", exit_status: r.exitStatus ?? null, message: r.message }, now);
  }
}

/** A process exited: a run it had under way ends as `killed` (a signal) or `died`. */
export function recordExit(rec: FlightRecorder, pid: number, exit: ChildExit, now: number): void {
  rec.end(pid, {
    outcome: exit.signal ? "killed" : "died",
    exit_status: exit.code,
    signal: exit.signal ?? null,
    message: exit.signal ? `the process was killed (${exit.signal}) during the run` : `the process exited (${exit.code}) during the run`,
  }, now);
}
