/**
 * How a running job stops running: completed; requeued (gearmand: at once,
 * `job_retries` bounding attempts); retried after a delay (TheSchwartz's
 * rule, when a retry policy applies); declined; or ended as failed. Every
 * failure goes into the job's failure log, and a background job that ends
 * may be kept (dead set, exit status) instead of forgotten.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { encodeHandlePacket, encodePacket } from "../protocol/encoder.ts";
import { type Job, NOBODY, toStored } from "./job.ts";
import type { CoreContext } from "./core_context.ts";
import { retryDelay, type RetryPolicy } from "./retry_policy.ts";
import { metricsOf } from "./function_metrics.ts";

/** What ending a job needs of the core: the ended set, queues and timers, output and effects. */
export type EndingContext = Pick<
  CoreContext,
  "options" | "ended" | "count" | "at" | "schedule" | "enqueue" | "finish" | "retire" | "send" | "effect"
>;

/** How a failure reached the server, for listeners and the failure log. */
export interface FailureReport {
  message: string;
  /** Exit status when the job fails for good (default 1). */
  exitStatus?: number;
  /** No retry, whatever the policy (the worker's permanent failure). */
  permanent?: boolean;
  /** WORK_EXCEPTION payload for listeners that asked for exceptions. */
  exception?: Uint8Array;
  /**
   * The `reason` label of gearbox_jobs_failed_total: `retries_exhausted` when a retry policy or
   * job_retries ran out, else `permanent`, `exception` (WORK_EXCEPTION) or `failed` (the default).
   */
  reason?: string;
}

/** Takes a running job back from its worker (lost worker, lease, CANT_DO). */
export function requeue(server: EndingContext, job: Job, now: number, reason: string): void {
  if (job.state !== "running") return;
  // With a retry policy, a lost worker or an ended lease is a failure like
  // any other (TheSchwartz); without one, gearmand's immediate requeue.
  if (retryPolicy(server, job)) return jobFailed(server, job, now, { message: reason });
  runEnded(job, now);
  recordFailure(server, job, now, reason);
  job.retries++;
  if (server.options.jobRetries > 0 && job.retries >= server.options.jobRetries) {
    server.count("retries_exhausted");
    server.effect({
      kind: "log",
      level: "info",
      message: "job failed: out of attempts",
      fields: { handle: job.handle, reason, attempts: job.retries },
    });
    failJob(server, job, now, { message: reason, reason: "retries_exhausted" });
    return;
  }
  release(job);
  server.count("requeued");
  server.effect({ kind: "log", level: "debug", message: "job requeued", fields: { handle: job.handle, reason } });
  // The failure log and attempt count are stored too, so a crash does not forget them.
  if (job.persisted) server.effect({ kind: "update", job: toStored(job) });
  server.enqueue(job, now);
}

/** A running job failed: logged, then retried later if its policy allows, else ended as failed. */
export function jobFailed(server: EndingContext, job: Job, now: number, report: FailureReport): void {
  if (job.state !== "running") return;
  runEnded(job, now);
  recordFailure(server, job, now, report.message);
  const policy = report.permanent ? undefined : retryPolicy(server, job);
  if (policy && job.retries < policy.maxRetries) {
    release(job);
    job.retries++;
    job.runAt = now + retryDelay(policy, job.retries, server.options.random);
    server.count("retried");
    server.effect({
      kind: "log",
      level: "debug",
      message: "job will be retried",
      fields: { handle: job.handle, reason: report.message, at: job.runAt },
    });
    if (job.persisted) server.effect({ kind: "update", job: toStored(job) });
    server.schedule(job, now);
    return;
  }
  server.count(report.permanent ? "failed_permanently" : "failed");
  failJob(server, job, now, policy ? { ...report, reason: "retries_exhausted" } : report);
}

/**
 * The store could not be reached for the job's workload (an outage is not
 * the job's fault): back to its queue `delayMs` from now, no failure
 * recorded, no attempt charged, nothing written (the store is away).
 */
export function putBack(server: EndingContext, job: Job, now: number, delayMs: number): void {
  if (job.state !== "running") return;
  runEnded(job, now);
  release(job);
  job.runAt = now + delayMs;
  server.count("read_requeued");
  server.schedule(job, now);
}

/** The worker declined the job: back to the queue at `runAt`, not a failure (TheSchwartz's `declined`). */
export function declineJob(server: EndingContext, job: Job, now: number, runAt: number): void {
  if (job.state !== "running") return;
  runEnded(job, now);
  release(job);
  job.runAt = runAt > now ? runAt : 0;
  server.count("declined");
  if (job.persisted) server.effect({ kind: "update", job: toStored(job) });
  server.schedule(job, now);
}

/** The job completed: listeners were told by the caller; kept with exit status 0 when so configured. */
export function completeJob(server: EndingContext, job: Job, now: number): void {
  server.count("completed");
  if (job.state === "running") runEnded(job, now);
  endJob(server, job, now, "completed", 0);
}

/** Ends a job as failed: WORK_FAIL (or WORK_EXCEPTION) to every listener, then the dead set or gone. */
export function failJob(server: EndingContext, job: Job, now: number, report: FailureReport): void {
  let fail: Uint8Array | undefined;
  let exception: Uint8Array | undefined;
  for (let i = 0, n = job.listenerCount; i < n; i++) {
    const l = job.listenerAt(i);
    // Listeners without the option get a plain WORK_FAIL (without gearmand's stray NUL).
    if (report.exception !== undefined && l.exceptions) {
      server.send(l, exception ??= encodePacket(Cmd.WORK_EXCEPTION, [job.handle], report.exception));
    } else server.send(l, fail ??= encodeHandlePacket(Cmd.WORK_FAIL, job.prefix, job.id));
  }
  const reason = report.reason ?? (report.permanent ? "permanent" : report.exception !== undefined ? "exception" : "failed");
  metricsOf(job.fn).countFailure(reason);
  endJob(server, job, now, "failed", report.exitStatus ?? 1);
}

/** A run ended (any way): its time goes into the function's run-time histogram. */
function runEnded(job: Job, now: number): void {
  metricsOf(job.fn).observeRun(Math.max(0, now - job.startedAt) / 1000);
}

/**
 * Takes an ended job out of the live tables. A stored background job is
 * kept as ended for its function's keep time (its store row is updated, not
 * deleted); anything else is forgotten.
 */
function endJob(server: EndingContext, job: Job, now: number, outcome: "completed" | "failed", exitStatus: number): void {
  const o = server.options;
  job.fn[outcome]++;
  const own = o.functions[job.fn.name];
  const keepMs = outcome === "failed" ? own?.keepFailedForMs ?? o.keepFailedForMs : own?.keepExitStatusForMs ?? o.keepExitStatusForMs;
  if (!job.background || !job.persisted || keepMs <= 0 || o.maxEndedJobs <= 0) return server.finish(job);
  server.retire(job);
  job.ended = { outcome, exitStatus, at: now, deleteAfter: now + keepMs };
  server.effect({ kind: "update", job: toStored(job) });
  for (const old of server.ended.add(job)) {
    server.count("ended_evicted");
    server.effect({ kind: "forget", id: old.id });
  }
  server.at(job.ended.deleteAfter, { kind: "expire", job });
}

/**
 * A `job retry` the store did not apply: a live job of another cluster node,
 * `handle`, holds the job's function and unique (docs/cluster.md §7). The
 * job goes back to the dead set with a failure-log entry saying so, unless a
 * worker took it meanwhile: it then runs, and ends as any run does.
 */
export function refuseRevival(server: EndingContext, job: Job, handle: string, now: number): void {
  if (job.state !== "queued" && job.state !== "scheduled") return;
  server.count("retry_refused");
  server.effect({
    kind: "log",
    level: "warn",
    message: "job retry refused: its unique is live on another node",
    fields: { handle: job.handle, live: handle },
  });
  recordFailure(server, job, now, `retry refused: unique is live as ${handle}`);
  failJob(server, job, now, { message: "retry refused" });
}

/** Appends to the job's failure log, bounded in entries and message size. */
function recordFailure(server: EndingContext, job: Job, now: number, message: string): void {
  const o = server.options;
  if (o.maxFailureLog <= 0) return;
  if (job.failures === NOBODY) job.failures = [];
  job.failures.push({ at: now, message: message.length > o.maxFailureMessage ? message.slice(0, o.maxFailureMessage) : message });
  if (job.failures.length > o.maxFailureLog) job.failures.splice(0, job.failures.length - o.maxFailureLog);
}

/** Detaches a running job from its worker. */
function release(job: Job): void {
  job.worker!.holding.delete(job);
  job.worker = undefined;
  job.fn.running--;
  job.numerator = "0";
  job.denominator = "0";
}

/** The retry policy that applies to a job: only background jobs nobody waits for, with retries on. */
function retryPolicy(server: EndingContext, job: Job): RetryPolicy | undefined {
  if (!job.background || job.listenerCount > 0) return undefined;
  const policy = { ...server.options.retry, ...server.options.functions[job.fn.name]?.retry };
  return policy.maxRetries > 0 ? policy : undefined;
}

/** A worker's failure payload as a log message: UTF-8 text, invalid bytes replaced. */
export function failureText(data: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(data);
}
