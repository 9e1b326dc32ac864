/**
 * `gearbox serve`'s metric families (docs: README "Monitoring"), defined once
 * here so the page, the README's table and the example dashboard and alert
 * rules (tests/server/metrics_examples.test.ts) read the same names.
 * Gauges of the function table are read at scrape time, a slice of
 * functions per turn of the event loop (metrics_page.ts); counters and
 * histograms the core keeps as jobs move are copied from its view.
 *
 * @module
 */
import { type MetricDef, Registry } from "../metrics/registry.ts";
import { SECONDS_BUCKETS } from "../metrics/histogram.ts";

const fn = ["function"] as const;

/** Upper bounds of `gearbox_store_commit_seconds`: an fsync on a fast disk to a slow database round trip. */
export const COMMIT_SECONDS_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Upper bounds of `gearbox_store_batch_jobs`: changes (adds, updates, deletes) per group commit. */
export const BATCH_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** Every family `gearbox serve` exposes, in page order. */
export const SERVE_METRICS = [
  {
    name: "gearbox_jobs_queued",
    type: "gauge",
    help: "Jobs waiting for a worker, by function and priority.",
    labels: ["function", "priority"],
  },
  { name: "gearbox_jobs_running", type: "gauge", help: "Jobs a worker is running, by function.", labels: fn },
  { name: "gearbox_jobs_scheduled", type: "gauge", help: "Jobs waiting for their run time (run_after, epoch, retry delay).", labels: fn },
  { name: "gearbox_jobs_dead", type: "gauge", help: "Failed jobs kept in the dead set, by function.", labels: fn },
  { name: "gearbox_workers", type: "gauge", help: "Connections that registered the function.", labels: fn },
  { name: "gearbox_oldest_waiting_seconds", type: "gauge", help: "Age of the oldest job waiting for a worker, by function.", labels: fn },
  {
    name: "gearbox_jobs_submitted_total",
    type: "counter",
    help: "Jobs submitted (not coalesced), by function and kind.",
    labels: ["function", "kind"],
  },
  { name: "gearbox_jobs_completed_total", type: "counter", help: "Jobs that completed, by function.", labels: fn },
  {
    name: "gearbox_jobs_failed_total",
    type: "counter",
    help: "Jobs that ended failed, by function and reason.",
    labels: ["function", "reason"],
  },
  {
    name: "gearbox_job_wait_seconds",
    type: "histogram",
    help: "Time from runnable to a worker taking the job.",
    labels: fn,
    buckets: SECONDS_BUCKETS,
  },
  {
    name: "gearbox_job_run_seconds",
    type: "histogram",
    help: "Time a worker held the job, per run.",
    labels: fn,
    buckets: SECONDS_BUCKETS,
  },
  {
    name: "gearbox_store_commit_seconds",
    type: "histogram",
    help: "Time a successful store commit took.",
    labels: [],
    buckets: COMMIT_SECONDS_BUCKETS,
  },
  {
    name: "gearbox_store_batch_jobs",
    type: "histogram",
    help: "Changes (adds, updates, deletes) per store commit.",
    labels: [],
    buckets: BATCH_BUCKETS,
  },
  {
    name: "gearbox_schedule_runs_total",
    type: "counter",
    help: "Jobs a schedule submitted (slots and triggers), by schedule.",
    labels: ["schedule"],
  },
  {
    name: "gearbox_schedule_missed_total",
    type: "counter",
    help: "Slots dropped by the missed-run policy, by schedule.",
    labels: ["schedule"],
  },
  {
    name: "gearbox_schedule_skipped_total",
    type: "counter",
    help: "Slots dropped because the previous run had not finished, by schedule.",
    labels: ["schedule"],
  },
  {
    name: "gearbox_schedule_next_run_timestamp_seconds",
    type: "gauge",
    help: "When the schedule fires next (0 while paused), by schedule.",
    labels: ["schedule"],
  },
  {
    name: "gearbox_schedule_last_run_timestamp_seconds",
    type: "gauge",
    help: "The slot of the schedule's last job (0: none yet), by schedule.",
    labels: ["schedule"],
  },
  { name: "gearbox_functions", type: "gauge", help: "Function records held (bounded by max_functions).", labels: [] },
  {
    name: "gearbox_payload_memory_bytes",
    type: "gauge",
    help: "Workload bytes of committed background jobs held in memory (bounded by max_payload_memory).",
    labels: [],
  },
  {
    name: "gearbox_workload_pool_bytes",
    type: "gauge",
    help: "Bytes of the workload pool's pages (bounded by workload_pool_memory).",
    labels: [],
  },
  {
    name: "gearbox_connections",
    type: "gauge",
    help: "Open connections: all, and those that may act as each role (client, worker, admin-read, admin).",
    labels: ["role"],
  },
  { name: "gearbox_errors_total", type: "counter", help: "Events of the admin counters command, by cause.", labels: ["cause"] },
  { name: "gearbox_event_loop_lag_seconds", type: "gauge", help: "Largest event loop delay seen since the previous scrape.", labels: [] },
  {
    name: "gearbox_ready",
    type: "gauge",
    help: "1 when /ready answers 200 (store replayed, listening, not draining, store reachable).",
    labels: [],
  },
  { name: "process_resident_memory_bytes", type: "gauge", help: "Resident memory size in bytes.", labels: [] },
  { name: "process_cpu_seconds_total", type: "counter", help: "User and system CPU time spent in seconds.", labels: [] },
  { name: "process_start_time_seconds", type: "gauge", help: "Start time of the process since unix epoch in seconds.", labels: [] },
] as const satisfies readonly MetricDef[];

export type ServeMetricName = (typeof SERVE_METRICS)[number]["name"];

/** A registry holding serve's families, and each family by name. */
export function serveRegistry(): { registry: Registry; family: (name: ServeMetricName) => ReturnType<Registry["define"]> } {
  const registry = new Registry();
  const byName = new Map(SERVE_METRICS.map((d) => [d.name as string, registry.define(d)]));
  return { registry, family: (name) => byName.get(name)! };
}
