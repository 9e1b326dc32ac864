/**
 * The console's flight-recorder commands: `runs JOB [N] [json]` (a job's
 * last runs, newest first, one line each) and `run HANDLE [json]` (one run
 * with its output lines).
 *
 * @module
 */
import type { DriverRun } from "../client/driver_console.ts";

/** What these commands need from the driver. */
export interface RunsTarget {
  hasJob(job: string): boolean;
  runs(job: string, n?: number): DriverRun[];
  run(handle: string): DriverRun | undefined;
}

export const RUNS_HELP = [
  "runs JOB [N] [json]             the job's last N runs (default all kept), newest first: handle pid start",
  "                                seconds outcome exit_status peak_rss last_output_line",
  "run HANDLE [json]               one run (the newest of that handle) with its last output lines",
];

/** The reply of `runs` or `run`; undefined for another command. */
export function answerRuns(target: RunsTarget, cmd: string, args: string[]): string[] | undefined {
  const json = args.at(-1) === "json";
  const rest = json ? args.slice(0, -1) : args;
  if (cmd === "runs") {
    const [job, count, extra] = rest;
    if (job === undefined || extra !== undefined) return ["ERR invalid_value: runs JOB [N] [json]"];
    if (!target.hasJob(job)) return [`ERR invalid_job_name: ${job}`];
    if (count !== undefined && !/^\d{1,5}$/.test(count)) return ["ERR invalid_value: runs JOB [N] [json] (N: a whole number)"];
    const runs = target.runs(job, count === undefined ? undefined : Number(count));
    return json ? [JSON.stringify(runs)] : runs.map(runLine);
  }
  if (cmd === "run") {
    if (rest.length !== 1) return ["ERR invalid_value: run HANDLE [json]"];
    const run = target.run(rest[0]!);
    if (!run) return [`ERR no_such_run: ${rest[0]} (not among the runs kept)`];
    return json ? [JSON.stringify(run)] : runDetail(run);
  }
  return undefined;
}

function iso(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString();
}

function seconds(r: DriverRun): string {
  return r.end === null ? "-" : ((r.end - r.start) / 1000).toFixed(3);
}

function exitOf(r: DriverRun): string {
  return r.signal ?? (r.exit_status === null ? "-" : String(r.exit_status));
}

function peak(r: DriverRun): string {
  return r.peak_rss_bytes === null ? "-" : `${(r.peak_rss_bytes / 1048576).toFixed(1)}MiB`;
}

function runLine(r: DriverRun): string {
  const last = r.output.at(-1)?.line.replace(/\s+/g, " ") ?? "-";
  return [r.handle, r.pid, iso(r.start), seconds(r), r.outcome, exitOf(r), peak(r), last].join("\t");
}

function runDetail(r: DriverRun): string[] {
  return [
    `handle: ${r.handle}`,
    `job: ${r.job}`,
    `function: ${r.function}`,
    `pid: ${r.pid}`,
    `worker_pid: ${r.worker_pid ?? "-"}`,
    `start: ${iso(r.start)}`,
    `end: ${iso(r.end)}`,
    `seconds: ${seconds(r)}`,
    `outcome: ${r.outcome}`,
    `exit_status: ${exitOf(r)}`,
    `peak_rss: ${peak(r)}`,
    `message: ${r.message?.replace(/\s+/g, " ") ?? "-"}`,
    ...r.output.map((o) => `${o.stream}: ${o.line}`),
  ];
}
