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
import { serveRegistry } from "./server_metrics.ts";

/** What a page reads besides the core. */
export interface PageSources {
  readonly view: CoreView;
  /** The server's clock, in ms (the core's `now`). */
  now(): number;
  connections(): number;
  ready(): boolean;
  /** The largest event loop delay since the last call, in seconds. */
  takeLag(): number;
}

const PRIORITIES = ["high", "normal", "low"] as const;
type FunctionRecord = NonNullable<ReturnType<CoreView["functions"]["get"]>>;

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
    const records = [...this.#sources.view.functions.values()];
    for (let i = 0; i < records.length; i += this.#slice) {
      if (i > 0) await new Promise((r) => setImmediate(r)); // paces the loop: other connections are served between slices
      const t0 = performance.now();
      this.#functions(records.slice(i, i + this.#slice));
      this.slowestSliceMs = Math.max(this.slowestSliceMs, performance.now() - t0);
    }
    this.#serverWide();
    return this.#metrics.registry.render();
  }

  /** The gauges of one slice of function records. */
  #functions(records: readonly FunctionRecord[]): void {
    const f = this.#metrics.family;
    const now = this.#sources.now();
    let queued = "", running = "", scheduled = "", workers = "", oldest = "";
    for (const rec of records) {
      const name = [rec.name];
      const counts = rec.queue.counts();
      for (let p = 0; p < 3; p++) queued += f("gearbox_jobs_queued").sample([rec.name, PRIORITIES[p]!], counts[p]!);
      running += f("gearbox_jobs_running").sample(name, rec.running);
      scheduled += f("gearbox_jobs_scheduled").sample(name, rec.scheduled[0] + rec.scheduled[1] + rec.scheduled[2]);
      workers += f("gearbox_workers").sample(name, rec.workers.length);
      oldest += f("gearbox_oldest_waiting_seconds").sample(name, oldestWait(rec.queue, now));
    }
    f("gearbox_jobs_queued").collect(queued);
    f("gearbox_jobs_running").collect(running);
    f("gearbox_jobs_scheduled").collect(scheduled);
    f("gearbox_workers").collect(workers);
    f("gearbox_oldest_waiting_seconds").collect(oldest);
  }

  #serverWide(): void {
    const f = this.#metrics.family;
    const s = this.#sources;
    f("gearbox_functions").set([], s.view.functions.size);
    f("gearbox_connections").set(["all"], s.connections());
    const errors = f("gearbox_errors_total");
    for (const [cause, n] of s.view.counters) errors.set([cause], n);
    f("gearbox_event_loop_lag_seconds").set([], s.takeLag());
    f("gearbox_ready").set([], s.ready() ? 1 : 0);
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
