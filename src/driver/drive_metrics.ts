/**
 * `gearbox drive`'s metrics, on the shared registry (src/metrics/): the
 * processes of each job by state and whether it is crash-looping (read at
 * scrape time), restarts after a death, entries into the crash-loop state,
 * runs by outcome and their durations (from the flight recorder), and
 * scaling decisions by reason. Labels are the configured jobs, the process
 * states, the outcomes and the reasons: bounded sets.
 *
 * @module
 */
import type { DriverRun } from "../client/driver_console.ts";
import { SECONDS_BUCKETS } from "../metrics/histogram.ts";
import { type Family, type MetricDef, Registry } from "../metrics/registry.ts";
import type { JobGroup, ProcessState } from "./job_group.ts";

export const DRIVE_METRICS = [
  { name: "gearbox_drive_processes", type: "gauge", help: "worker processes of a job by state", labels: ["drive_job", "state"] },
  { name: "gearbox_drive_crash_looping", type: "gauge", help: "1 while the job is in the crash-loop state", labels: ["drive_job"] },
  {
    name: "gearbox_drive_restarts_total",
    type: "counter",
    help: "processes that died unexpectedly and are replaced",
    labels: ["drive_job"],
  },
  { name: "gearbox_drive_crash_loops_total", type: "counter", help: "times a job entered the crash-loop state", labels: ["drive_job"] },
  { name: "gearbox_drive_runs_total", type: "counter", help: "job runs ended, by outcome", labels: ["drive_job", "outcome"] },
  {
    name: "gearbox_drive_run_seconds",
    type: "histogram",
    help: "how long job runs took",
    labels: ["drive_job"],
    buckets: SECONDS_BUCKETS,
  },
  {
    name: "gearbox_drive_scaling_decisions_total",
    type: "counter",
    help: "scaling decisions that changed something, by reason",
    labels: ["drive_job", "reason"],
  },
] as const satisfies readonly MetricDef[];

type Name = (typeof DRIVE_METRICS)[number]["name"];

const STATES: readonly ProcessState[] = ["starting", "idle", "busy", "stopping"];

export class DriveMetrics {
  readonly registry = new Registry();
  readonly #f = new Map<Name, Family>();

  constructor() {
    for (const def of DRIVE_METRICS) this.#f.set(def.name, this.registry.define(def));
  }

  #family(name: Name): Family {
    return this.#f.get(name)!;
  }

  restarted(job: string): void {
    this.#family("gearbox_drive_restarts_total").inc([job]);
  }

  crashLoopEntered(job: string): void {
    this.#family("gearbox_drive_crash_loops_total").inc([job]);
  }

  runEnded(run: DriverRun): void {
    this.#family("gearbox_drive_runs_total").inc([run.job, run.outcome]);
    if (run.end !== null) this.#family("gearbox_drive_run_seconds").observe([run.job], (run.end - run.start) / 1000);
  }

  /** `reason`: the decision's words; its label is the part before the colon (`jobs waiting`, `oldest job over target_wait`...). */
  scaled(job: string, reason: string): void {
    this.#family("gearbox_drive_scaling_decisions_total").inc([job, reason.split(":")[0]!.trim().replace(/\s+/g, "_")]);
  }

  /** The page: the gauges read from the groups now, then every family. */
  page(groups: readonly JobGroup[], crashLooping: (g: JobGroup) => boolean): string {
    const processes = this.#family("gearbox_drive_processes");
    const looping = this.#family("gearbox_drive_crash_looping");
    processes.clear();
    looping.clear();
    for (const g of groups) {
      const counts = new Map<ProcessState, number>(STATES.map((s) => [s, 0]));
      for (const p of g.processes.values()) counts.set(p.state, counts.get(p.state)! + 1);
      for (const [state, n] of counts) processes.set([g.name, state], n);
      looping.set([g.name], crashLooping(g) ? 1 : 0);
    }
    return this.registry.render();
  }
}
