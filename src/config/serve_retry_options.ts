/**
 * `gearbox serve`'s rows for what happens to a job whose worker fails or vanishes: leases, retries
 * with their delays, and how long failed and completed jobs are kept (the dead set, exit statuses).
 * Part of SERVE_OPTIONS (serve_options.ts), in its order.
 *
 * @module
 */
import { MAX_INT, type Setting } from "./setting.ts";

export const RETRY_ROWS = [
  {
    key: "grab_for",
    type: "number",
    default: 0,
    arg: "<seconds>",
    min: 0,
    max: 30 * 86400,
    unit: "s",
    to: "core.grabForMs",
    perFunction: true,
    help:
      "lease on a grabbed job: when it ends the job is offered again and the old worker's results are refused; 0 = none (per function: functions.NAME.grab_for)",
  },
  {
    key: "max_retries",
    type: "int",
    default: 0,
    arg: "<n>",
    min: 0,
    max: MAX_INT,
    to: "core.retry.maxRetries",
    perFunction: true,
    help:
      "a background job that fails (WORK_FAIL, WORK_EXCEPTION) runs again this many times before it fails for good; 0 = fail at once, as gearmand",
  },
  {
    key: "retry_delay",
    type: "number",
    default: 0,
    arg: "<seconds>",
    min: 0,
    max: 30 * 86400,
    unit: "s",
    to: "core.retry.delayMs",
    perFunction: true,
    help: "delay before the first retry",
  },
  {
    key: "retry_backoff",
    type: "string",
    default: "fixed",
    arg: "<kind>",
    choices: ["fixed", "exponential"],
    to: "core.retry.backoff",
    perFunction: true,
    help: "fixed, or exponential (the delay doubles with each failure)",
  },
  {
    key: "retry_delay_max",
    type: "number",
    default: 3600,
    arg: "<seconds>",
    min: 0,
    max: 30 * 86400,
    unit: "s",
    to: "core.retry.maxDelayMs",
    perFunction: true,
    help: "cap on the retry delay",
  },
  {
    key: "retry_jitter",
    type: "number",
    default: 0,
    arg: "<fraction>",
    min: 0,
    max: 1,
    to: "core.retry.jitter",
    perFunction: true,
    help: "random spread of the delay (0.2 = ±20%) so retries do not stampede",
  },
  {
    key: "keep_failed_for",
    type: "number",
    default: 7 * 86400,
    arg: "<seconds>",
    min: 0,
    max: 3650 * 86400,
    unit: "s",
    to: "core.keepFailedForMs",
    perFunction: true,
    help:
      "how long a background job that failed for good stays in the dead set (payload and failure log kept, `gearbox jobs retry` brings it back); 0 = forget at once (per function: functions.NAME.keep_failed_for)",
  },
  {
    key: "keep_exit_status_for",
    type: "number",
    default: 0,
    arg: "<seconds>",
    min: 0,
    max: 3650 * 86400,
    unit: "s",
    to: "core.keepExitStatusForMs",
    perFunction: true,
    help:
      "how long a completed background job's exit status is kept (TheSchwartz); 0 = not kept (per function: functions.NAME.keep_exit_status_for)",
  },
  {
    key: "max_ended_jobs",
    type: "int",
    default: 10_000,
    arg: "<n>",
    min: 0,
    max: 10_000_000,
    to: "core.maxEndedJobs",
    help: "ended jobs kept at most (dead set and exit statuses, in memory and in the store); the oldest go first",
  },
] as const satisfies readonly Setting[];
