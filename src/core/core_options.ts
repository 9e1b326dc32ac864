/**
 * The knobs of the job server state machine. Their defaults live in the
 * serve settings table (gearmand's where gearmand has one), not here.
 *
 * @module
 */

import type { RetryPolicy } from "./retry_policy.ts";

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
  /** Jobs one connection may have outstanding: foreground ones it waits on plus submissions the store has not answered. */
  maxJobsPerConnection: number;
  /** Of those, the ones with a non-empty unique. */
  maxUniquesPerConnection: number;
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
  /** Bytes of the pool that holds small foreground workloads out of the collected heap (workload_pool.ts); 0: none. */
  workloadPoolBytes: number;
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

/** What the program hosting the core supplies rather than settings: its identity and injected sources. */
export type CoreIdentity = Pick<CoreOptions, "handlePrefix" | "version" | "pid" | "verbose" | "random" | "storeReadsPayloads">;

/**
 * The options that come from settings. Their defaults, bounds and units are
 * defined once, in the serve settings table (rows with `to: "core.NAME"`);
 * the core has no defaults of its own, so a core used alone is built from
 * that table (`coreSettings()` in src/server/server_settings.ts).
 */
export type CoreSettings = Omit<CoreOptions, keyof CoreIdentity>;
