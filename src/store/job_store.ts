/**
 * The store port: where background jobs live so they survive a restart.
 * The server batches every change of one tick into one `commit`, and only
 * acknowledges new jobs after it resolved (group commit). Every member that
 * touches the store is asynchronous, so an embedded SQLite file, process
 * memory and a networked database implement the one contract that
 * tests/store/job_store_contract.test.ts checks on each.
 *
 * @module
 */
import type { StoredJob } from "../core/job.ts";
import type { ClusterStore } from "./cluster_store.ts";

export type { StoredJob };

/** One group commit: jobs to add and job ids to delete, applied atomically. */
export interface StoreBatch {
  add: StoredJob[];
  /** Jobs whose run time or failure count changed (retries). */
  update?: StoredJob[];
  remove: number[];
  /** Schedules written (inserted or replaced by name), in the same transaction as the jobs: a slot's job and its schedule's advance commit together. */
  schedules?: ScheduleRow[];
  /** Schedules deleted, by name. */
  dropSchedules?: string[];
}

/**
 * A schedule's progress as the store keeps it (docs/schedules.md): the
 * server owns `state`'s JSON (definition of a run-time schedule, last run,
 * counts, a queued slot); the store only keeps it, keyed by name.
 */
export interface ScheduleRow {
  name: string;
  /** The next slot to fire, ms since the epoch. */
  nextSlot: number;
  state: string;
  /**
   * The next slot the stored row must still have for this write to apply
   * (absent: the row must not exist yet). A store several servers share
   * (PostgreSQL) locks the row and, when another node moved it meanwhile,
   * applies neither the row nor its {@link jobs}, and reports the name in
   * `CommitResult.lostSchedules`: one node fires each slot. A store one
   * server owns (SQLite, memory) writes the row as given.
   */
  expect?: number;
  /** Ids of the batch's new jobs that this write fires (dropped with it, reported as coalesced). */
  jobs?: number[];
}

/**
 * What a commit reports besides success. Only a store several servers share
 * (PostgreSQL) has anything to say; a single server's core coalesces its own
 * uniques before they reach the store.
 */
export interface CommitResult {
  /**
   * Jobs whose row did not go live because a live row of the cluster holds
   * their function and unique (docs/cluster.md §7), by id, with that row's
   * handle: a new job was not added (its submitters get that handle), an
   * update that would have made an ended job live again (`job retry`) was
   * not applied (the row stays ended).
   */
  coalesced?: ReadonlyMap<number, string>;
  /** Schedules whose row another node had moved: nothing of theirs was written (ScheduleRow.expect). */
  lostSchedules?: readonly string[];
}

/** What a backup wrote. */
export interface BackupResult {
  /** Jobs in the copy (queued, scheduled, running and ended ones kept for the dead set). */
  jobs: number;
  /** Rows left out because they failed their checksum (the live store has them damaged). */
  damaged: number;
}

/** A step of opening a store worth a log line: what, and its fields. */
export type StoreNote = (message: string, fields: Record<string, unknown>) => void;

/** A durable home for background jobs. */
export interface JobStore {
  /** A short description for logs (`memory:`, `sqlite:/path`). */
  readonly url: string;
  /**
   * True when workloads live outside process memory (a file, a database
   * server): the server may then drop its copy of a committed workload past
   * `--max-payload-memory` and read it back with {@link payload} when a
   * worker takes the job. False for a store whose copy is in memory anyway.
   */
  readonly payloadsOutOfMemory: boolean;
  /**
   * The most UTF-8 bytes a function name and a unique may take together in
   * this store (an index entry's limit), or undefined for no limit; the
   * server refuses `max_function_name` and `max_unique` that could exceed it.
   */
  readonly maxKeyBytes?: number;
  /**
   * Opens the store and gives every job it holds, oldest first, to be taken
   * once. A store whose {@link payloadsOutOfMemory} is true may leave
   * workloads out of it (not a `-` unique's: its key is the workload's digest).
   * `note` hears what opening does that takes long (a migration that
   * rewrites a table), before and after, for the log.
   */
  open(note?: StoreNote): Promise<Iterable<StoredJob>>;
  /** The schedules it keeps (after {@link open}); a store without it cannot keep schedules. */
  schedules?(): Promise<ScheduleRow[]>;
  /**
   * A committed job's workload, read back by id; undefined when the store
   * does not have the job. Rejects with {@link StoreError} when it cannot
   * read it (a damaged row among them: a job never runs on wrong bytes).
   */
  payload(id: number): Promise<Uint8Array | undefined>;
  /**
   * Copies the store, while it keeps serving, into a new store file at
   * `path` (which must not exist): the jobs that existed when the copy began
   * and still exist when it ends, in their state at the end.
   */
  backup?(path: string): Promise<BackupResult>;
  /** For a store without {@link backup}: why, and what backs it up instead (the admin `backup` answers it). */
  readonly backupAdvice?: string;
  /** Present on a store several servers share (cluster_store.ts): nodes, heartbeats, adoption. */
  readonly cluster?: ClusterStore;
  /** Applies a batch atomically; rejects with {@link StoreError} when it could not. */
  commit(batch: StoreBatch): Promise<CommitResult | void>;
  /**
   * New jobs of the next commit, told while it still gathers, so a store may
   * start sending them (PostgreSQL: a COPY whose rows the server works on
   * while the rest arrive). Staged jobs are the first of the next batch's
   * `add`, in order; the commit decides (a batch with more than new jobs
   * drops what was staged and commits as usual). Nothing is durable, nor
   * acknowledged, before the commit resolves.
   */
  stage?(jobs: readonly StoredJob[]): void;
  /**
   * Most commits this store takes at once (PostgreSQL: one connection and
   * backend each; absent: 1). The server gives it several only of new jobs,
   * and tells their outcomes in the order they began (store_writer.ts).
   */
  readonly commitLanes?: number;
  close(): Promise<void>;
  /**
   * Closes the store and removes what opening it created (a file that did
   * not exist before): for a server that failed before it served, so a
   * failed start leaves nothing behind.
   */
  discard?(): Promise<void>;
}

/** Store failures carry a code so the server can answer and count them. */
export class StoreError extends Error {
  readonly code: "STORE_UNAVAILABLE" | "STORE_FULL" | "STORE_CORRUPT" | "STORE_LOCKED" | "BAD_STORE_URL" | "BACKUP_BUSY" | "BACKUP_EXISTS";
  constructor(code: StoreError["code"], message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}
