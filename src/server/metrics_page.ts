/**
 * One `/metrics` page of a server: the function table read a slice of
 * functions per turn of the event loop (100,000 functions are 200 slices of
 * about 2 ms; docs/architecture.md §4), each family's lines of a slice
 * joined into one flat string, so the page is sent a part per turn and never
 * joined (one string of 61 MB, or one turn writing it, stalled the loop
 * 880 ms); then the server-wide numbers. Scrapes that arrive while a page is
 * being built get that page.
 *
 * @module
 */
import { type CoreView, ROLE_NAMES, roleNames } from "../core/mod.ts";
import { ownUsage } from "../runtime/host_and_process.ts";
import { type ServeMetricName, serveRegistry } from "./server_metrics.ts";
import type { ServerStats } from "./server_stats.ts";

/** What `/metrics` shows of one schedule. */
export interface ScheduleGauges {
  name: string;
  fired: number;
  missed: number;
  skipped: number;
  /** ms since the epoch; 0 for none (paused, or never ran). */
  next: number;
  last: number;
}
import { labelText, sampleLine, withLabel } from "../metrics/exposition.ts";
import { histogramLines } from "../metrics/histogram.ts";

/** What a page reads besides the core. */
export interface PageSources {
  readonly view: CoreView;
  /** The server's clock, in ms (the core's `now`). */
  now(): number;
  stats(): ServerStats;
  ready(): boolean;
  /** The schedules' counts and times (schedule_runner.ts); absent: none. */
  schedules?(): readonly ScheduleGauges[];
  /** The largest event loop delay since the last call, in seconds. */
  takeLag(): number;
}

const PRIORITIES = ["high", "normal", "low"] as const;
const KINDS = ["foreground", "background", "scheduled"] as const;
const FUNCTION = ["function"];
/** The families `#functions` fills, a line per function (or per label set) each. */
const PER_FUNCTION: readonly ServeMetricName[] = [
  "gearbox_jobs_queued",
  "gearbox_jobs_running",
  "gearbox_jobs_scheduled",
  "gearbox_workers",
  "gearbox_oldest_waiting_seconds",
  "gearbox_jobs_submitted_total",
  "gearbox_jobs_completed_total",
  "gearbox_jobs_failed_total",
  "gearbox_job_wait_seconds",
  "gearbox_job_run_seconds",
];
type FunctionRecord = NonNullable<ReturnType<CoreView["functions"]["get"]>>;
type FunctionMetrics = NonNullable<FunctionRecord["metrics"]>;

export class MetricsPage {
  readonly #sources: PageSources;
  readonly #slice: number;
  readonly #metrics = serveRegistry();
  #building: Promise<string[]> | undefined;
  /** The longest slice of the last page, in ms (printed by the scrape benchmark test). */
  slowestSliceMs = 0;
  /** Each slice's time of the last page, in ms (its median is the work per turn, whatever the machine's load). */
  sliceMs: number[] = [];

  constructor(sources: PageSources, slice = 500) {
    this.#sources = sources;
    this.#slice = slice;
  }

  /** The page, in parts of a slice each (sent one at a time); a scrape during a build shares it. */
  build(): Promise<string[]> {
    this.#building ??= this.#build().finally(() => (this.#building = undefined));
    return this.#building;
  }

  async #build(): Promise<string[]> {
    this.slowestSliceMs = 0;
    this.sliceMs = [];
    await this.#sliced([...this.#sources.view.functions.values()], (slice) => this.#functions(slice));
    await this.#sliced([...this.#sources.view.ended.deadByFunction], (slice) => this.#dead(slice));
    this.#serverWide();
    return this.#metrics.registry.renderParts();
  }

  /** Runs `each` on slices of `items`, one per turn of the event loop, timing the slowest. */
  async #sliced<T>(items: readonly T[], each: (slice: readonly T[]) => void): Promise<void> {
    for (let i = 0; i < items.length; i += this.#slice) {
      await new Promise((r) => setImmediate(r)); // paces the loop: other connections are served between slices
      const t0 = performance.now();
      each(items.slice(i, i + this.#slice));
      this.sliceMs.push(performance.now() - t0);
      this.slowestSliceMs = Math.max(this.slowestSliceMs, this.sliceMs.at(-1)!);
    }
  }

  /** The series of one slice of function records, each family's lines joined into one flat string per slice. */
  #functions(records: readonly FunctionRecord[]): void {
    const now = this.#sources.now();
    const lines = new Map<ServeMetricName, string[]>(PER_FUNCTION.map((n) => [n, []]));
    const queued = lines.get("gearbox_jobs_queued")!, running = lines.get("gearbox_jobs_running")!;
    const scheduled = lines.get("gearbox_jobs_scheduled")!, workers = lines.get("gearbox_workers")!;
    const oldest = lines.get("gearbox_oldest_waiting_seconds")!, completed = lines.get("gearbox_jobs_completed_total")!;
    for (const rec of records) {
      const l = labelText(FUNCTION, [rec.name]); // escaped once per function
      const counts = rec.queue.counts();
      for (let p = 0; p < 3; p++) queued.push(sampleLine("gearbox_jobs_queued", withLabel(l, "priority", PRIORITIES[p]!), counts[p]!));
      running.push(sampleLine("gearbox_jobs_running", l, rec.running));
      scheduled.push(sampleLine("gearbox_jobs_scheduled", l, rec.scheduled[0] + rec.scheduled[1] + rec.scheduled[2]));
      workers.push(sampleLine("gearbox_workers", l, rec.workers.length));
      oldest.push(sampleLine("gearbox_oldest_waiting_seconds", l, oldestWait(rec.queue, now)));
      completed.push(sampleLine("gearbox_jobs_completed_total", l, rec.completed));
      if (rec.metrics) counted(l, rec.metrics, lines);
    }
    for (const [name, text] of lines) this.#metrics.family(name).collect(text.join(""));
  }

  /** `gearbox_jobs_dead` for a slice of the dead set's functions. */
  #dead(entries: readonly [string, number][]): void {
    const dead = this.#metrics.family("gearbox_jobs_dead");
    let lines = "";
    for (const [fn, n] of entries) lines += dead.sample([fn], n);
    dead.collect(lines);
  }

  #serverWide(): void {
    const f = this.#metrics.family;
    const s = this.#sources;
    f("gearbox_functions").set([], s.view.functions.size);
    f("gearbox_payload_memory_bytes").set([], s.view.payloadBytes);
    f("gearbox_workload_pool_bytes").set([], s.view.workloads.bytes);
    const errors = f("gearbox_errors_total");
    for (const [cause, n] of s.view.counters) errors.set([cause], n);
    f("gearbox_event_loop_lag_seconds").set([], s.takeLag());
    f("gearbox_ready").set([], s.ready() ? 1 : 0);
    const stats = s.stats();
    const connections = f("gearbox_connections");
    connections.set(["all"], stats.connections);
    for (const [role, n] of byRole(s.view)) connections.set([role], n);
    f("gearbox_store_commit_seconds").collect(histogramLines("gearbox_store_commit_seconds", "", stats.commitSeconds));
    f("gearbox_store_batch_jobs").collect(histogramLines("gearbox_store_batch_jobs", "", stats.batchJobs));
    for (const g of s.schedules?.() ?? []) {
      f("gearbox_schedule_runs_total").set([g.name], g.fired);
      f("gearbox_schedule_missed_total").set([g.name], g.missed);
      f("gearbox_schedule_skipped_total").set([g.name], g.skipped);
      f("gearbox_schedule_next_run_timestamp_seconds").set([g.name], g.next / 1000);
      f("gearbox_schedule_last_run_timestamp_seconds").set([g.name], g.last / 1000);
    }
    const usage = ownUsage();
    f("process_resident_memory_bytes").set([], usage.rss);
    f("process_cpu_seconds_total").set([], usage.cpuSeconds);
    f("process_start_time_seconds").set([], usage.startSeconds);
  }
}

/** Open connections that may act in each role (a connection counts once under each of its roles). */
function byRole(view: CoreView): Map<string, number> {
  const counts = new Map<string, number>(ROLE_NAMES.map((r) => [r, 0]));
  for (const peer of view.peers.values()) {
    if (!peer.closed) { for (const role of roleNames(peer.roles)) counts.set(role, counts.get(role)! + 1); }
  }
  return counts;
}

/** The counters and histograms the core kept for one function (function_metrics.ts), under its labels `l`. */
function counted(l: string, m: FunctionMetrics, lines: Map<ServeMetricName, string[]>): void {
  const submitted = lines.get("gearbox_jobs_submitted_total")!;
  for (const kind of KINDS) submitted.push(sampleLine("gearbox_jobs_submitted_total", withLabel(l, "kind", kind), m.submitted[kind]));
  const failed = lines.get("gearbox_jobs_failed_total")!;
  for (const [reason, n] of m.failed ?? []) failed.push(sampleLine("gearbox_jobs_failed_total", withLabel(l, "reason", reason), n));
  if (m.wait) lines.get("gearbox_job_wait_seconds")!.push(histogramLines("gearbox_job_wait_seconds", l, m.wait));
  if (m.run) lines.get("gearbox_job_run_seconds")!.push(histogramLines("gearbox_job_run_seconds", l, m.run));
}

/** Seconds since the oldest job at the head of the three queues became runnable (0 when none waits). */
function oldestWait(queue: { first(priority: number): { createdAt: number; runAt: number } | undefined }, now: number): number {
  let since = Infinity;
  for (let p = 0; p < 3; p++) {
    const job = queue.first(p);
    if (job) since = Math.min(since, Math.max(job.createdAt, job.runAt));
  }
  return since === Infinity ? 0 : Math.max(0, now - since) / 1000;
}
