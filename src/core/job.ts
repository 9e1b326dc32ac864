/**
 * A job as the core tracks it, and its place in the life cycle.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { FunctionShape, PeerShape } from "./record_shapes.ts";

/** A function record and a connection as a job names them: `FunctionRecord` and `Peer` (see record_shapes.ts). */
type FunctionRecord = FunctionShape<Job>;
type Peer = PeerShape<Job>;

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
  /**
   * The workload. A store that reads payloads back by id (the store port's
   * `payload`) may leave it out of what it replays.
   */
  data: Uint8Array | undefined;
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

/** What few jobs need: waiters, progress, a reducer, a failure history, an ending. */
interface JobExtras {
  listeners: Peer[];
  numerator: string;
  denominator: string;
  reducer: string;
  retries: number;
  failures: Failure[];
  ended: Ended | undefined;
  grabbedUntil: number;
}

const STATES: readonly JobState[] = ["persisting", "scheduled", "queued", "running", "done"];
const STATE_BITS: Record<JobState, number> = { persisting: 0, scheduled: 1, queued: 2, running: 3, done: 4 };
const BACKGROUND = 1 << 3;
const PERSISTED = 1 << 4;
const PRIORITY_SHIFT = 5;
const ANSWERED = 1 << 7;

/**
 * A live job. A million of them may wait in memory, so it keeps thirteen
 * slots: the handle is its boot's prefix plus the id, the name comes from the
 * function record, the unique from its coalescing key, the state, priority
 * and flags share one number, and what few jobs need lives in `#more`.
 * Queue links (`prev`/`next`) make removal from the middle O(1).
 */
export class Job implements StoredJob {
  readonly id: number;
  /** Its record; a revived job whose record was reclaimed is given the live one (JobTable.rebind). */
  fn: FunctionRecord;
  /** Coalescing key inside the function, or undefined for an empty unique. */
  readonly uniqueKey: string | undefined;
  /** The workload; undefined once a committed job left it to the store (read back through a `read` effect, payload_reads.ts). */
  data: Uint8Array | undefined;
  /** The handle's part before the id: this boot's prefix, or an earlier boot's for a replayed job. */
  readonly prefix: string;
  readonly createdAt: number;
  /** Not runnable before this Unix time in ms (0: at once). */
  runAt = 0;
  worker: Peer | undefined = undefined;
  /** Increments on every assignment so stale timeout deadlines can be told apart. */
  assignment = 0;
  /** When the current run began (the core's `now` at assignment), for the run-time histogram. */
  startedAt = 0;
  prev: Job | undefined = undefined;
  next: Job | undefined = undefined;
  #bits: number;
  /** What few jobs need; a job whose only extra is its listener list (a foreground job) keeps the list itself here. */
  #more: JobExtras | Peer[] | undefined = undefined;

  constructor(
    fn: FunctionRecord,
    id: number,
    prefix: string,
    uniqueKey: string | undefined,
    data: Uint8Array | undefined,
    priority: Priority,
    background: boolean,
    createdAt: number,
  ) {
    this.id = id;
    this.fn = fn;
    this.uniqueKey = uniqueKey;
    this.data = data;
    this.prefix = prefix;
    this.createdAt = createdAt;
    this.#bits = (priority << PRIORITY_SHIFT) | (background ? BACKGROUND : 0);
  }

  get handle(): string {
    return `${this.prefix}:${this.id}`;
  }

  /** The function's name (the store's view of the job). */
  get function(): string {
    return this.fn.name;
  }

  /** The unique as submitted: "-" for a workload-digest key (see {@link uniqueKeyOf}). */
  get unique(): string {
    const k = this.uniqueKey;
    return k === undefined ? "" : k.startsWith(DIGEST_KEY) ? "-" : k;
  }

  get priority(): Priority {
    return (this.#bits >> PRIORITY_SHIFT) & 3;
  }

  get state(): JobState {
    return STATES[this.#bits & 7]!;
  }

  set state(s: JobState) {
    this.#bits = (this.#bits & ~7) | STATE_BITS[s];
  }

  get background(): boolean {
    return (this.#bits & BACKGROUND) !== 0;
  }

  set background(b: boolean) {
    this.#bits = b ? this.#bits | BACKGROUND : this.#bits & ~BACKGROUND;
  }

  /** True once the store holds it; a finished persisted job must be forgotten there. */
  get persisted(): boolean {
    return (this.#bits & PERSISTED) !== 0;
  }

  set persisted(b: boolean) {
    this.#bits = b ? this.#bits | PERSISTED : this.#bits & ~PERSISTED;
  }

  /**
   * The store answered for this job's submitters (set when it did): a peer
   * holding the job as its JOB_CREATED slot may write it (Peer.release).
   */
  get answered(): boolean {
    return (this.#bits & ANSWERED) !== 0;
  }

  set answered(b: boolean) {
    this.#bits = b ? this.#bits | ANSWERED : this.#bits & ~ANSWERED;
  }

  /** The extras record, if the job has one. */
  #x(): JobExtras | undefined {
    const m = this.#more;
    return m instanceof Array ? undefined : m;
  }

  #extras(): JobExtras {
    const m = this.#more;
    if (m !== undefined && !(m instanceof Array)) return m;
    return this.#more = {
      listeners: m ?? NOBODY,
      numerator: "0",
      denominator: "0",
      reducer: "",
      retries: 0,
      failures: NOBODY,
      ended: undefined,
      grabbedUntil: 0,
    };
  }

  /** Foreground clients waiting for WORK_* packets. */
  get listeners(): Peer[] {
    const m = this.#more;
    return m === undefined ? NOBODY : m instanceof Array ? m : m.listeners;
  }

  set listeners(v: Peer[]) {
    const x = this.#x();
    if (x !== undefined) x.listeners = v;
    else this.#more = v === NOBODY ? undefined : v;
  }

  get numerator(): string {
    return this.#x()?.numerator ?? "0";
  }

  set numerator(v: string) {
    if (v !== "0" || this.#x()) this.#extras().numerator = v;
  }

  get denominator(): string {
    return this.#x()?.denominator ?? "0";
  }

  set denominator(v: string) {
    if (v !== "0" || this.#x()) this.#extras().denominator = v;
  }

  get reducer(): string {
    return this.#x()?.reducer ?? "";
  }

  set reducer(v: string) {
    if (v !== "" || this.#x()) this.#extras().reducer = v;
  }

  get retries(): number {
    return this.#x()?.retries ?? 0;
  }

  set retries(v: number) {
    if (v !== 0 || this.#x()) this.#extras().retries = v;
  }

  /** Oldest first; empty for most jobs. */
  get failures(): Failure[] {
    return this.#x()?.failures ?? NOBODY;
  }

  set failures(v: Failure[]) {
    if (v !== NOBODY || this.#x()) this.#extras().failures = v;
  }

  /** Set once the job ended and is kept (dead set, exit status); undefined while live. */
  get ended(): Ended | undefined {
    return this.#x()?.ended;
  }

  set ended(v: Ended | undefined) {
    if (v !== undefined || this.#x()) this.#extras().ended = v;
  }

  /** While running under a lease (TheSchwartz's grabbed_until): when it ends, Unix time in ms; 0 = no lease. */
  get grabbedUntil(): number {
    return this.#x()?.grabbedUntil ?? 0;
  }

  set grabbedUntil(v: number) {
    if (v !== 0 || this.#x()) this.#extras().grabbedUntil = v;
  }
}

/**
 * Shared empty list for jobs nobody waits on: most background jobs never get
 * a listener, and a million queued jobs should not carry two empty arrays each.
 * Frozen, so a push by mistake throws instead of leaking between jobs.
 */
export const NOBODY: never[] = Object.freeze([]) as unknown as never[];

/**
 * The stored form of a job: the job itself, seen through {@link StoredJob}.
 * Stores copy what they keep at commit time; no second object per job.
 */
export function toStored(job: Job): StoredJob {
  return job;
}

/** Starts the key of a "-" unique; a unique cannot hold a NUL, so no other key does. */
const DIGEST_KEY = "-\0";

/**
 * The coalescing key of a unique: none for an empty unique (never coalesces),
 * the workload's digest for "-" (identical workloads coalesce; the stored
 * unique stays "-"), else the unique itself.
 */
export function uniqueKeyOf(unique: string, data: Uint8Array): string | undefined {
  if (unique === "") return undefined;
  if (unique === "-") return DIGEST_KEY + createHash("sha256").update(data).digest("base64");
  return unique;
}
