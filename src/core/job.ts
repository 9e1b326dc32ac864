/**
 * A job as the core tracks it, and its place in the life cycle.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { FunctionRecord } from "./functions.ts";
import type { Peer } from "./peer.ts";

/** Gearman's three priorities, as queue indexes: lower runs first. */
export const enum Priority {
  High = 0,
  Normal = 1,
  Low = 2,
}

/** Names of the priorities, by index, for logs and admin output. */
export const PRIORITY_NAMES = ["high", "normal", "low"] as const;

/**
 * - `persisting`: a new background job waiting for the store to commit; not yet offered.
 * - `scheduled`: committed, but not runnable before `runAt`.
 * - `queued`: waiting in its function's priority queue.
 * - `running`: assigned to a worker.
 * - `done`: removed from every live table (completed, failed, cancelled or
 *   dropped); a background job may still be kept as ended (see {@link Ended}).
 */
export type JobState = "persisting" | "scheduled" | "queued" | "running" | "done";

/** One entry of a job's failure log (TheSchwartz's `error` rows). */
export interface Failure {
  /** Unix time in ms. */
  at: number;
  message: string;
}

/**
 * How a background job ended, kept for a while after it left the queue:
 * failed jobs form the dead set (they can be retried), completed ones keep
 * their exit status for `keep_exit_status_for`.
 */
export interface Ended {
  outcome: "completed" | "failed";
  /** 0 for completed; 1 for a failure unless the worker gave another. */
  exitStatus: number;
  /** Unix time in ms. */
  at: number;
  /** The record is forgotten at this Unix time in ms. */
  deleteAfter: number;
}

/** The stored form of a background job: what survives a restart. */
export interface StoredJob {
  /** Unique within a store's life (handles end in it); the store's key. */
  id: number;
  handle: string;
  function: string;
  unique: string;
  data: Uint8Array;
  reducer: string;
  priority: Priority;
  /** Not runnable before this Unix time in ms (0: at once). */
  runAt: number;
  createdAt: number;
  retries: number;
  /** Oldest first; empty for most jobs. */
  failures: readonly Failure[];
  /** Set once the job ended and is kept (dead set, exit status); undefined while live. */
  ended: Ended | undefined;
}

/** A live job. Queue links (`prev`/`next`) make removal from the middle O(1). */
export interface Job extends StoredJob {
  readonly id: number;
  readonly handle: string;
  readonly fn: FunctionRecord;
  readonly unique: string;
  /** Coalescing key inside the function, or undefined for an empty unique. */
  readonly uniqueKey: string | undefined;
  readonly data: Uint8Array;
  readonly reducer: string;
  readonly priority: Priority;
  readonly createdAt: number;
  /** The function's name (the store's view of the job). */
  readonly function: string;
  background: boolean;
  runAt: number;
  state: JobState;
  /** True once the store holds it; a finished persisted job must be forgotten there. */
  persisted: boolean;
  worker: Peer | undefined;
  /** Increments on every assignment so stale timeout deadlines can be told apart. */
  assignment: number;
  /** Foreground clients waiting for WORK_* packets. */
  listeners: Peer[];
  /** Submitters waiting for JOB_CREATED while the job is persisting. */
  pendingAcks: { peer: Peer; ack: PendingAck }[];
  numerator: string;
  denominator: string;
  retries: number;
  failures: Failure[];
  ended: Ended | undefined;
  prev: Job | undefined;
  next: Job | undefined;
}

/**
 * Shared empty list for jobs nobody waits on: most background jobs never get
 * a listener, and a million queued jobs should not carry two empty arrays each.
 * Frozen, so a push by mistake throws instead of leaking between jobs.
 */
export const NOBODY: never[] = Object.freeze([]) as unknown as never[];

/** A reply slot held in a peer's output until the store answers. */
export interface PendingAck {
  bytes: Uint8Array | undefined;
}

/**
 * The stored form of a job: the job itself, seen through {@link StoredJob}.
 * Stores copy what they keep at commit time; no second object per job.
 */
export function toStored(job: Job): StoredJob {
  return job;
}

/**
 * The coalescing key of a unique: none for an empty unique (never coalesces),
 * the workload's digest for "-" (identical workloads coalesce; the stored
 * unique stays "-"), else the unique itself.
 */
export function uniqueKeyOf(unique: string, data: Uint8Array): string | undefined {
  if (unique === "") return undefined;
  if (unique === "-") return "-\0" + createHash("sha256").update(data).digest("base64");
  return unique;
}
