/**
 * A job as the core tracks it, and its place in the life cycle.
 *
 * @module
 */
import { MAX_PREFIXES } from "./handle_prefixes.ts";
import { DIGEST_KEY } from "./unique_keys.ts";
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
  /** The handle's part before `:<id>`, where the job knows it without building the handle. */
  readonly prefix?: string;
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

/** The foreground clients waiting on a job: none, one (most), or several. */
type Waiters = Peer | Peer[] | undefined;

/** What few jobs need: waiters beside any of the rest, progress, a reducer, a failure history, an ending. */
class JobExtras {
  listeners: Waiters = undefined;
  numerator = "0";
  denominator = "0";
  reducer = "";
  retries = 0;
  failures: Failure[] = NOBODY;
  ended: Ended | undefined = undefined;
  grabbedUntil = 0;
  runAt = 0;
  /** The handle's prefix, when the table ran out of prefix numbers (handle_prefixes.ts). */
  prefix = "";

  constructor(listeners: Waiters) {
    this.listeners = listeners;
  }
}

const STATES: readonly JobState[] = ["persisting", "scheduled", "queued", "running", "done"];
const STATE_BITS: Record<JobState, number> = { persisting: 0, scheduled: 1, queued: 2, running: 3, done: 4 };
const BACKGROUND = 1 << 3;
const PERSISTED = 1 << 4;
const PRIORITY_SHIFT = 5;
const ANSWERED = 1 << 7;
/** The prefix's number (handle_prefixes.ts) sits above the flags; {@link MAX_PREFIXES}: the extras hold it. */
const PREFIX_SHIFT = 8;

/**
 * A live job. A million of them may wait in memory, so it keeps twelve
 * slots, which JavaScriptCore fits in 112 bytes (thirteen take 160): the
 * handle is a prefix (numbered in the flags: handle_prefixes.ts) plus the id,
 * the name comes from the function record, the unique from its coalescing
 * key, state, priority and flags share one number, and what few jobs need
 * (a run time, retries, progress, several waiting clients) lives in `#more`.
 * Queue links (`prev`/`next`) make removal from the middle O(1).
 */
export class Job implements StoredJob {
  readonly id: number;
  /** Its record; a revived job whose record was reclaimed is given the live one (JobTable.rebind). */
  fn: FunctionRecord;
  /** Coalescing key inside the function, or undefined for an empty unique. */
  readonly uniqueKey: string | undefined;
  /** The workload: its bytes, a slot of the workload pool (workload_pool.ts), or undefined: the store holds it (payload_reads.ts). */
  #data: Uint8Array | number | undefined;
  readonly createdAt: number;
  worker: Peer | undefined = undefined;
  /** Increments on every assignment so stale timeout deadlines can be told apart. */
  assignment = 0;
  /** When the current run began (the core's `now` at assignment), for the run-time histogram. */
  startedAt = 0;
  prev: Job | undefined = undefined;
  next: Job | undefined = undefined;
  #bits: number;
  /** What few jobs need; a job whose only extra is its waiting clients (a foreground job) keeps them here itself. */
  #more: JobExtras | Waiters = undefined;

  constructor(
    fn: FunctionRecord,
    id: number,
    prefix: string,
    uniqueKey: string | undefined,
    data: Uint8Array | number | undefined,
    priority: Priority,
    background: boolean,
    createdAt: number,
  ) {
    this.id = id;
    this.fn = fn;
    this.uniqueKey = uniqueKey;
    this.#data = data;
    this.createdAt = createdAt;
    const n = fn.home.prefixes.numberOf(prefix);
    this.#bits = ((n < 0 ? MAX_PREFIXES : n) << PREFIX_SHIFT) | (priority << PRIORITY_SHIFT) | (background ? BACKGROUND : 0);
    if (n < 0) this.#extras().prefix = prefix;
  }

  /** The workload (a pooled one copied out: read it on cold paths only); undefined when the store holds it. */
  get data(): Uint8Array | undefined {
    const d = this.#data;
    return typeof d === "number" ? this.fn.home.workloads.copy(d) : d;
  }

  /** Replaces the workload; a pooled one's slot is given back. */
  set data(v: Uint8Array | undefined) {
    const d = this.#data;
    if (typeof d === "number") this.fn.home.workloads.free(d);
    this.#data = v;
  }

  /** The workload's slot in the table's workload pool, or -1 when it is not pooled. */
  get pooled(): number {
    const d = this.#data;
    return typeof d === "number" ? d : -1;
  }

  /** Moves its own workload into the workload pool when it fits; whether the workload is pooled now. */
  poolData(): boolean {
    const d = this.#data;
    if (!(d instanceof Uint8Array)) return typeof d === "number";
    const slot = this.fn.home.workloads.store(d, 0, d.byteLength);
    if (slot >= 0) this.#data = slot;
    return slot >= 0;
  }

  /** The workload's byte length when the job holds it (pooled or its own); undefined when the store does. */
  get dataLength(): number | undefined {
    const d = this.#data;
    return typeof d === "number" ? this.fn.home.workloads.length(d) : d?.byteLength;
  }

  /** The handle's part before the id: this boot's prefix, or an earlier boot's (replayed) or another node's (adopted). */
  get prefix(): string {
    const n = this.#bits >>> PREFIX_SHIFT;
    return n === MAX_PREFIXES ? this.#x()!.prefix : this.fn.home.prefixes.at(n);
  }

  /** Not runnable before this Unix time in ms (0: at once). */
  get runAt(): number {
    return this.#x()?.runAt ?? 0;
  }

  set runAt(v: number) {
    if (v !== 0 || this.#x()) this.#extras().runAt = v;
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
    return m instanceof JobExtras ? m : undefined;
  }

  #extras(): JobExtras {
    const m = this.#more;
    return m instanceof JobExtras ? m : (this.#more = new JobExtras(m));
  }

  #waiters(): Waiters {
    const m = this.#more;
    return m instanceof JobExtras ? m.listeners : m;
  }

  #setWaiters(w: Waiters): void {
    const m = this.#more;
    if (m instanceof JobExtras) m.listeners = w;
    else this.#more = w;
  }

  /** Foreground clients waiting for WORK_* packets, once per submission. */
  get listenerCount(): number {
    const w = this.#waiters();
    return w === undefined ? 0 : w instanceof Array ? w.length : 1;
  }

  /** The `i`th waiting client (`i` below {@link listenerCount}): read one by one, no list is made. */
  listenerAt(i: number): Peer {
    const w = this.#waiters();
    return w instanceof Array ? w[i]! : w!;
  }

  /** The waiting clients as a list, for cold paths (a job with one makes a list of one). */
  get listeners(): readonly Peer[] {
    const w = this.#waiters();
    return w === undefined ? NOBODY : w instanceof Array ? w : [w];
  }

  /** One more submission waits (a client that submitted twice is listed twice). */
  addListener(peer: Peer): void {
    const w = this.#waiters();
    if (w === undefined) this.#setWaiters(peer);
    else if (w instanceof Array) w.push(peer);
    else this.#setWaiters([w, peer]);
  }

  /** Takes every submission of `peer` off the list; whether it had any. */
  removeListener(peer: Peer): boolean {
    const w = this.#waiters();
    if (w === peer) return (this.#setWaiters(undefined), true);
    if (!(w instanceof Array) || !w.includes(peer)) return false;
    const rest = w.filter((l) => l !== peer);
    this.#setWaiters(rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : rest);
    return true;
  }

  clearListeners(): void {
    this.#setWaiters(undefined);
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
 * Shared empty list for jobs nobody waits on (most): a million queued jobs should not
 * carry two empty arrays each. Frozen, so a push by mistake throws instead of leaking.
 */
export const NOBODY: never[] = Object.freeze([]) as unknown as never[];

/** The stored form of a job: the job itself, seen through {@link StoredJob} (stores copy what they keep at commit time). */
export function toStored(job: Job): StoredJob {
  return job;
}
