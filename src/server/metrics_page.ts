/**
 * One `/metrics` page of a server: the function table's gauges read a slice
 * of functions per turn of the event loop (100,000 functions are about 50
 * slices, each a few milliseconds; docs/architecture.md §4), then the
 * server-wide numbers. Scrapes that arrive while a page is being built get
 * that page.
 *
 * @module
 */
import type { CoreView } from "../core/mod.ts";
import { ownUsage } from "../runtime/host_and_process.ts";
import { type ServeMetricName, serveRegistry } from "./server_metrics.ts";
import type { ServerStats } from "./server_stats.ts";
import { labelText } from "../metrics/exposition.ts";
import { histogramLines } from "../metrics/histogram.ts";

/** What a page reads besides the core. */
export interface PageSources {
  readonly view: CoreView;
  /** The server's clock, in ms (the core's `now`). */
  now(): number;
  stats(): ServerStats;
  ready(): boolean;
  /** The largest event loop delay since the last call, in seconds. */
  takeLag(): number;
}

const PRIORITIES = ["high", "normal", "low"] as const;
const KINDS = ["foreground", "background", "scheduled"] as const;
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
  #building: Promise<string> | undefined;
  /** The longest slice of the last page, in ms (printed by the scrape benchmark test). */
  slowestSliceMs = 0;

  constructor(sources: PageSources, slice = 2000) {
    this.#sources = sources;
    this.#slice = slice;
  }

  /** The page; a scrape during a build shares it. */
  build(): Promise<string> {
    this.#building ??= this.#build().finally(() => (this.#building = undefined));
    return this.#building;
  }

  async #build(): Promise<string> {
    this.slowestSliceMs = 0;
    await this.#sliced([...this.#sources.view.functions.values()], (slice) => this.#functions(slice));
    await this.#sliced([...this.#sources.view.ended.deadByFunction], (slice) => this.#dead(slice));
    this.#serverWide();
    return this.#metrics.registry.render();
  }

  /** Runs `each` on slices of `items`, one per turn of the event loop, timing the slowest. */
  async #sliced<T>(items: readonly T[], each: (slice: readonly T[]) => void): Promise<void> {
    for (let i = 0; i < items.length; i += this.#slice) {
      await new Promise((r) => setImmediate(r)); // paces the loop: other connections are served between slices
      const t0 = performance.now();
      each(items.slice(i, i + this.#slice));
      this.slowestSliceMs = Math.max(this.slowestSliceMs, performance.now() - t0);
    }
  }

  /** The series of one slice of function records, each family's lines gathered as one string. */
  #functions(records: readonly FunctionRecord[]): void {
    const f = this.#metrics.family;
    const now = this.#sources.now();
    const text = new Map<ServeMetricName, string>(PER_FUNCTION.map((n) => [n, ""]));
    const add = (name: ServeMetricName, line: string) => text.set(name, text.get(name)! + line);
    for (const rec of records) {
      const name = [rec.name];
      const counts = rec.queue.counts();
      for (let p = 0; p < 3; p++) add("gearbox_jobs_queued", f("gearbox_jobs_queued").sample([rec.name, PRIORITIES[p]!], counts[p]!));
      add("gearbox_jobs_running", f("gearbox_jobs_running").sample(name, rec.running));
      add("gearbox_jobs_scheduled", f("gearbox_jobs_scheduled").sample(name, rec.scheduled[0] + rec.scheduled[1] + rec.scheduled[2]));
      add("gearbox_workers", f("gearbox_workers").sample(name, rec.workers.length));
      add("gearbox_oldest_waiting_seconds", f("gearbox_oldest_waiting_seconds").sample(name, oldestWait(rec.queue, now)));
      add("gearbox_jobs_completed_total", f("gearbox_jobs_completed_total").sample(name, rec.completed));
      if (rec.metrics) this.#counted(rec.name, rec.metrics, add);
    }
    for (const [name, lines] of text) f(name).collect(lines);
  }

  /** The counters and histograms the core kept for one function (function_metrics.ts). */
  #counted(fn: string, m: FunctionMetrics, add: (name: ServeMetricName, line: string) => void): void {
    const f = this.#metrics.family;
    for (const kind of KINDS) add("gearbox_jobs_submitted_total", f("gearbox_jobs_submitted_total").sample([fn, kind], m.submitted[kind]));
    for (const [reason, n] of m.failed) add("gearbox_jobs_failed_total", f("gearbox_jobs_failed_total").sample([fn, reason], n));
    const labels = labelText(["function"], [fn]);
    if (m.wait.count > 0) add("gearbox_job_wait_seconds", histogramLines("gearbox_job_wait_seconds", labels, m.wait));
    if (m.run.count > 0) add("gearbox_job_run_seconds", histogramLines("gearbox_job_run_seconds", labels, m.run));
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
    const errors = f("gearbox_errors_total");
    for (const [cause, n] of s.view.counters) errors.set([cause], n);
    f("gearbox_event_loop_lag_seconds").set([], s.takeLag());
    f("gearbox_ready").set([], s.ready() ? 1 : 0);
    const stats = s.stats();
    f("gearbox_connections").set(["all"], stats.connections);
    f("gearbox_store_commit_seconds").collect(histogramLines("gearbox_store_commit_seconds", "", stats.commitSeconds));
    f("gearbox_store_batch_jobs").collect(histogramLines("gearbox_store_batch_jobs", "", stats.batchJobs));
    const usage = ownUsage();
    f("process_resident_memory_bytes").set([], usage.rss);
    f("process_cpu_seconds_total").set([], usage.cpuSeconds);
  }
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
