/**
 * What a function's jobs did, counted for `/metrics` (src/server/metrics_page.ts):
 * submissions by kind, failures by reason, and histograms of the time jobs
 * waited for a worker and ran, taken with the core's `now` at assignment
 * and at the end of a run. Made on a record's first event, so the 100,000
 * records of a busy function table that never ran a job cost nothing; it
 * goes with its record, so `max_functions` bounds the labels.
 *
 * @module
 */
import { Histogram, SECONDS_BUCKETS } from "../metrics/histogram.ts";

/** How a job was submitted: a client waits for it, it runs in the background, or at a later time (epoch, run_after). */
export type SubmittedKind = "foreground" | "background" | "scheduled";

export class FunctionMetrics {
  readonly submitted: Record<SubmittedKind, number> = { foreground: 0, background: 0, scheduled: 0 };
  /** Jobs that ended failed, by reason (`failed`, `exception`, `permanent`, `retries_exhausted`); made on the first. */
  failed: Map<string, number> | undefined = undefined;
  /** Seconds from runnable (submission or run time) to a worker taking the job; made on the first. */
  wait: Histogram | undefined = undefined;
  /** Seconds from a worker taking the job to the end of that run (completed, failed, requeued...). */
  run: Histogram | undefined = undefined;

  countFailure(reason: string): void {
    const failed = this.failed ??= new Map();
    failed.set(reason, (failed.get(reason) ?? 0) + 1);
  }

  observeWait(seconds: number): void {
    (this.wait ??= new Histogram(SECONDS_BUCKETS)).observe(seconds);
  }

  observeRun(seconds: number): void {
    (this.run ??= new Histogram(SECONDS_BUCKETS)).observe(seconds);
  }
}

/** The record's metrics, made on first use. */
export function metricsOf(rec: { metrics: FunctionMetrics | undefined }): FunctionMetrics {
  return rec.metrics ??= new FunctionMetrics();
}
