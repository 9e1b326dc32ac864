/**
 * The knobs of the job server state machine, with gearmand's defaults where
 * gearmand has one.
 *
 * @module
 */

import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry_policy.ts";

export interface CoreOptions {
  /** Handle prefix; handles are `<prefix>:<n>`. Should be restart-unique. */
  handlePrefix: string;
  /** Version string for the `version` admin command. */
  version: string;
  /** Process id for `getpid` (injected: the core reads no process state). */
  pid: number;
  /** Level name for `verbose`. */
  verbose: string;
  /** Max attempts before a job that keeps losing its worker is failed; 0 = unlimited. */
  jobRetries: number;
  /** Sleeping workers woken per queued job; -1 = all, 0 = none (Gearman::Server). */
  wakeup: number;
  /** ms before waking more workers for a job still queued; negative = never. */
  wakeupDelayMs: number;
  /** Rotate a worker's functions after each assignment (gearmand -R). */
  roundRobin: boolean;
  /** Every connection starts with the `exceptions` option on. */
  exceptions: boolean;
  /** Default queue limit for new functions; 0 = unlimited. */
  maxQueue: number;
  /** Longest function name accepted. */
  maxFunctionName: number;
  /** Longest unique id accepted (gearmand: 64). */
  maxUnique: number;
  /** SET_CLIENT_ID is truncated to this many bytes. */
  maxClientId: number;
  /** Functions one connection may register. */
  maxFunctionsPerConnection: number;
  /** Function records the server keeps at most. */
  maxFunctions: number;
  /** Furthest future accepted for SUBMIT_JOB_EPOCH, in ms. */
  maxEpochAheadMs: number;
  /** CAN_DO_TIMEOUT values are clamped to this many ms. */
  maxWorkerTimeoutMs: number;
  /** Whether `shutdown` is accepted on the admin protocol. */
  adminShutdown: boolean;
  /**
   * Lease on a grabbed job in ms (TheSchwartz's grab_for): when it ends the job
   * is offered again and the old worker's results are refused. 0 = no lease.
   * A worker's own CAN_DO_TIMEOUT takes precedence.
   */
  grabForMs: number;
  /** What happens when a background job fails (WORK_FAIL or WORK_EXCEPTION). */
  retry: RetryPolicy;
  /** How long a failed background job stays in the dead set, in ms; 0 = not kept. */
  keepFailedForMs: number;
  /** How long a completed background job's exit status is kept, in ms; 0 = not kept (TheSchwartz's default). */
  keepExitStatusForMs: number;
  /** Per-function overrides of the lease, queue limit, retry policy and keep times. */
  functions: Readonly<Record<string, FunctionOptions>>;
  /** Ended jobs kept at most (the oldest go first). */
  maxEndedJobs: number;
  /** Entries of a job's failure log kept (the oldest go first), and bytes per message. */
  maxFailureLog: number;
  maxFailureMessage: number;
  /** Source of randomness for retry jitter (injected: the core reads none itself). */
  random: () => number;
  /**
   * The store keeps committed workloads out of process memory and reads them
   * back on request (a `read` effect). Without it, every payload stays in
   * memory until its job ends.
   */
  storeReadsPayloads: boolean;
  /** Payload bytes of committed jobs held in memory; past it they are left to the store and read back when assigned. */
  maxPayloadMemory: number;
  /** Units of bulk admin work (jobs visited, rows built) per step; see bulk_work.ts. */
  adminSlice: number;
}

/** What one function may override; unset fields fall back to the server-wide option. */
export interface FunctionOptions {
  grabForMs?: number;
  maxQueue?: number;
  retry?: Partial<RetryPolicy>;
  keepFailedForMs?: number;
  keepExitStatusForMs?: number;
}

export const DEFAULT_CORE_OPTIONS: CoreOptions = {
  handlePrefix: "H:gearbox",
  version: "0.0.0",
  pid: 0,
  verbose: "INFO",
  jobRetries: 0,
  wakeup: -1,
  wakeupDelayMs: 100,
  roundRobin: false,
  exceptions: false,
  maxQueue: 0,
  maxFunctionName: 512,
  maxUnique: 64,
  maxClientId: 127,
  maxFunctionsPerConnection: 1024,
  maxFunctions: 100_000,
  maxEpochAheadMs: 10 * 365 * 24 * 3600 * 1000,
  maxWorkerTimeoutMs: 24 * 3600 * 1000,
  adminShutdown: true,
  grabForMs: 0,
  retry: DEFAULT_RETRY_POLICY,
  keepFailedForMs: 7 * 24 * 3600 * 1000,
  keepExitStatusForMs: 0,
  functions: {},
  maxEndedJobs: 10_000,
  maxFailureLog: 20,
  maxFailureMessage: 1024,
  random: () => 0.5,
  storeReadsPayloads: false,
  maxPayloadMemory: 16 * 1024 * 1024,
  adminSlice: 1000,
};
