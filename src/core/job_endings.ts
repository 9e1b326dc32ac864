/**
 * How a running job stops running without completing: requeued (gearmand:
 * at once, `job_retries` bounding attempts), retried after a delay
 * (TheSchwartz's rule, when a retry policy applies), or failed for good.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { encodePacket } from "../protocol/encoder.ts";
import { type Job, toStored } from "./job.ts";
import type { JobServer } from "./job_server.ts";
import { retryDelay, type RetryPolicy } from "./retry_policy.ts";

/** Takes a running job back from its worker; fails it when out of attempts. */
export function requeue(server: JobServer, job: Job, now: number, reason: string): void {
  if (job.state !== "running") return;
  // With a retry policy, a lost worker or an ended lease is a failure like
  // any other (TheSchwartz); without one, gearmand's immediate requeue.
  if (retryPolicy(server, job)) {
    server.effect({ kind: "log", level: "debug", message: "job failed", fields: { handle: job.handle, reason } });
    if (!retryLater(server, job, now)) {
      server.count("failed");
      failJob(server, job);
    }
    return;
  }
  job.retries++;
  if (server.options.jobRetries > 0 && job.retries >= server.options.jobRetries) {
    server.count("retries_exhausted");
    server.effect({ kind: "log", level: "info", message: "job failed: out of attempts", fields: { handle: job.handle, reason, attempts: job.retries } });
    failJob(server, job); // finish() takes it from the worker
    return;
  }
  job.worker!.holding.delete(job);
  job.worker = undefined;
  job.fn.running--;
  server.count("requeued");
  server.effect({ kind: "log", level: "debug", message: "job requeued", fields: { handle: job.handle, reason } });
  job.numerator = "0";
  job.denominator = "0";
  server.enqueue(job, now);
}

/**
 * A background job nobody waits for failed: if its policy allows, it runs
 * again after the retry delay (and the store learns its new run time).
 * Returns false when the job must fail for good.
 */
export function retryLater(server: JobServer, job: Job, now: number): boolean {
  const policy = retryPolicy(server, job);
  if (!policy || job.state !== "running" || job.retries >= policy.maxRetries) return false;
  job.worker!.holding.delete(job);
  job.worker = undefined;
  job.fn.running--;
  job.retries++;
  job.numerator = "0";
  job.denominator = "0";
  job.runAt = now + retryDelay(policy, job.retries, server.options.random);
  server.count("retried");
  if (job.persisted) server.effect({ kind: "update", job: toStored(job) });
  server.schedule(job, now);
  return true;
}

/** The retry policy that applies to a job: only background jobs nobody waits for, with retries on. */
function retryPolicy(server: JobServer, job: Job): RetryPolicy | undefined {
  if (!job.background || job.listeners.length > 0) return undefined;
  const policy = { ...server.options.retry, ...server.options.functionRetry[job.fn.name] };
  return policy.maxRetries > 0 ? policy : undefined;
}

/** Ends a job with WORK_FAIL to every listener. */
export function failJob(server: JobServer, job: Job): void {
  const bytes = encodePacket(Cmd.WORK_FAIL, [job.handle]);
  for (const l of job.listeners) server.send(l, bytes);
  server.finish(job);
}
