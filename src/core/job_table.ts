/**
 * The job table: live jobs by id and by unique, function records, the ended
 * set, job ids and handle prefixes, and the memory held by committed
 * workloads. It holds state and keeps its indexes consistent; it sends
 * nothing and schedules nothing (that is the scheduler's and the server's).
 *
 * @module
 */
import { digitsOf } from "../protocol/encoder.ts";
import type { CoreOptions } from "./core_options.ts";
import { EndedJobs } from "./ended_jobs.ts";
import { FunctionRecord } from "./function_record.ts";
import { FunctionTable } from "./function_table.ts";
import { IdTable } from "./id_table.ts";
import { Job, type Priority } from "./job.ts";
import type { Peer } from "./peer.ts";
import { UniqueIndex } from "./unique_index.ts";
import { HandlePrefixes } from "./handle_prefixes.ts";
import type { JobHome } from "./record_shapes.ts";
import { WorkloadPool } from "./workload_pool.ts";

/** Live and ended jobs, functions and payload accounting. */
export class JobTable {
  readonly options: CoreOptions;
  readonly functions = new FunctionTable();
  /** Background jobs that ended and are kept: the dead set and kept exit statuses. */
  readonly ended: EndedJobs;
  /** Live jobs by coalescing key, for coalescing and GET_STATUS_UNIQUE. */
  readonly uniques = new UniqueIndex((id) => this.jobs.get(id));
  /** Live jobs by id (the number a handle ends in); see {@link job}. */
  readonly jobs = new IdTable<Job>();
  /** Small foreground workloads out of the collected heap (workload_pool.ts), and the handle prefixes jobs name by number. */
  readonly home: JobHome;
  /** Jobs created (kept out of the counters map: it is on the hot path). */
  submitted = 0;
  /** Idle function records dropped to make room for a new one (see {@link fn}). */
  reclaimed = 0;
  #seq = 0;
  /** This server's id range (a cluster node's: docs/cluster.md): ids are allocated in [#base, #end). */
  #base = 0;
  #end = Number.MAX_SAFE_INTEGER;
  /** One limits tuple shared by every function without its own (admin `maxqueue` replaces, never edits, it). */
  readonly #defaultMaxQueue: readonly [number, number, number];
  /** Payload bytes of committed jobs still held in memory (see `maxPayloadMemory`). */
  #payloadBytes = 0;

  constructor(options: CoreOptions) {
    this.options = options;
    this.home = { workloads: new WorkloadPool(options.workloadPoolBytes), prefixes: new HandlePrefixes(options.handlePrefix) };
    const q = options.maxQueue;
    this.#defaultMaxQueue = Object.freeze([q, q, q] as const);
    this.ended = new EndedJobs(options.maxEndedJobs);
    for (const [name, f] of Object.entries(options.functions)) {
      if (f.maxQueue === undefined) continue;
      const rec = this.fn(name, true, true)!;
      rec.maxQueue = [f.maxQueue, f.maxQueue, f.maxQueue];
      rec.pinned = true;
    }
  }

  /**
   * Finds a function record; creates it when asked and the table has room,
   * reclaiming the record idle longest when it is full (`force` ignores
   * `max_functions`: replayed and configured functions).
   */
  fn(name: string, create: boolean, force = false): FunctionRecord | undefined {
    let rec = this.functions.get(name);
    if (rec || !create) return rec;
    if (!force && this.functions.size >= this.options.maxFunctions) {
      if (!this.functions.reclaimIdle()) return undefined;
      this.reclaimed++;
    }
    rec = new FunctionRecord(name, this.#defaultMaxQueue, this.home);
    this.functions.set(name, rec);
    this.functions.noteIdle(rec);
    return rec;
  }

  /** A record may have become idle (its last worker or job left): see `FunctionTable.noteIdle`. */
  noteIdle(rec: FunctionRecord): void {
    this.functions.noteIdle(rec);
  }

  /**
   * A job whose record was reclaimed while it sat in the dead set (a
   * revival, `job retry`) goes back to the live record of its name, or
   * brings its own back.
   */
  rebind(job: Job): void {
    const live = this.functions.get(job.fn.name);
    if (live === job.fn) return;
    if (live !== undefined) job.fn = live;
    else this.functions.set(job.fn.name, job.fn);
  }

  /** The id most recently allocated: jobs made later have larger ids. */
  get lastId(): number {
    return this.#seq;
  }

  /** Whether job `id` was made here after `last` (a {@link lastId}); an adopted job, from another node's range, never was. */
  madeAfter(id: number, last: number): boolean {
    return id > last && id >= this.#base && id < this.#end;
  }

  /** Allocates the next job id; its handle is `<prefix>:<id>`. */
  nextId(): number {
    if (this.#seq + 1 >= this.#end) throw new Error(`job ids of this node's range are used up (${this.#end - this.#base})`);
    return ++this.#seq;
  }

  /** A replayed job's id: later ids must be larger (an id outside this server's range is another node's). */
  noteId(id: number): void {
    if (id > this.#seq && id < this.#end && id >= this.#base) this.#seq = id;
  }

  /**
   * Allocates ids in `[base, base + size)` from now on, after `highest`
   * (the largest id of the range still in the store, whoever owns it now),
   * so that a cluster's nodes never hand out the same id.
   */
  useIds(base: number, size: number, highest: number): void {
    this.#base = base;
    this.#end = base + size;
    this.#seq = Math.max(base, highest);
  }

  /** The live job a handle names, whatever boot's prefix it carries. */
  job(handle: string): Job | undefined {
    const job = this.jobs.get(handleId(handle, 0, handle.length, charAt));
    return job !== undefined && job.prefix.length === handle.lastIndexOf(":") && handle.startsWith(job.prefix) ? job : undefined;
  }

  /** The live job the handle at `bytes[start, end)` names, read in place (every WORK_* packet asks): no string is made. */
  jobAt(bytes: Uint8Array, start: number, end: number): Job | undefined {
    const job = this.jobs.get(handleId(bytes, start, end, byteAt));
    if (job === undefined) return undefined;
    // The digits after the last colon are the id's, canonical: with the length right, that colon follows the prefix.
    const prefix = job.prefix;
    if (end - start !== prefix.length + 1 + digitsOf(job.id)) return undefined;
    for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix.charCodeAt(i)) return undefined;
    return job;
  }

  /**
   * Makes a job (state `persisting`) and enters it in the live tables;
   * `prefix` defaults to this boot's, `uniqueKey` comes from `uniqueKeyOf`.
   */
  newJob(
    fn: FunctionRecord,
    id: number,
    prefix: string | undefined,
    uniqueKey: string | undefined,
    data: Uint8Array | number | undefined,
    priority: Priority,
    background: boolean,
    now: number,
  ): Job {
    const job = new Job(fn, id, prefix ?? this.options.handlePrefix, uniqueKey, data, priority, background, now);
    this.enter(job);
    return job;
  }

  /** Enters a job in the live tables (a new one, or an ended one revived). */
  enter(job: Job): void {
    this.jobs.set(job.id, job);
    if (job.uniqueKey !== undefined) this.uniques.add(job);
    job.fn.total++;
  }

  /**
   * A foreground client will receive every WORK_* packet of the job, once per
   * submission (as gearmand does: a client that submitted twice waits twice).
   */
  addListener(job: Job, peer: Peer): void {
    job.addListener(peer);
    if (peer.listening.has(job)) return;
    peer.listening.add(job);
    if (job.uniqueKey !== undefined) peer.uniques++;
  }

  /** Removes a finished job from its worker, its listeners and the live tables. */
  retire(job: Job): void {
    if (job.state === "running") {
      job.worker!.holding.delete(job);
      job.worker = undefined;
      job.fn.running--;
    }
    for (let i = 0, n = job.listenerCount; i < n; i++) {
      const l = job.listenerAt(i);
      if (l.listening.delete(job) && job.uniqueKey !== undefined) l.uniques--;
    }
    job.clearListeners();
    this.removeJob(job);
  }

  /** Drops a job from the tables (no store effect). */
  removeJob(job: Job): void {
    if (job.state === "queued") job.fn.queue.remove(job);
    else if (job.state === "scheduled") job.fn.scheduled[job.priority]--;
    job.state = "done";
    this.#leavePayload(job); // before the slot is freed: it counts the workload's bytes
    if (job.pooled >= 0) job.data = undefined; // the slot goes back to the pool
    this.jobs.delete(job.id);
    if (job.uniqueKey !== undefined) this.uniques.remove(job);
    if (--job.fn.total === 0) this.noteIdle(job.fn);
  }

  /** One shared prefix string per earlier boot, taken from a replayed handle. */
  replayedPrefix(handle: string): string {
    const colon = handle.lastIndexOf(":");
    const prefix = colon === -1 ? this.options.handlePrefix : handle.slice(0, colon);
    return this.home.prefixes.shared(prefix);
  }

  /**
   * A committed job keeps its workload in memory while committed payloads
   * take no more than `maxPayloadMemory` bytes; past that it leaves it to the
   * store, which gives it back when a worker takes the job.
   */
  holdOrLeavePayload(job: Job): void {
    const n = job.dataLength;
    if (n === undefined || !this.options.storeReadsPayloads) return;
    if (this.#payloadBytes + n <= this.options.maxPayloadMemory) {
      this.#payloadBytes += n;
      // Its own bytes, in the workload pool or else copied: a submission may view a whole read chunk, which it would pin.
      if (job.poolData()) return;
      const data = job.data!;
      if (data.byteLength !== data.buffer.byteLength) job.data = data.slice();
    } else {
      job.data = undefined;
    }
  }

  /** Forgets a committed job's workload in memory (it ended, or it is only kept as ended). */
  #leavePayload(job: Job): void {
    const n = job.dataLength;
    if (n === undefined || !job.persisted || !this.options.storeReadsPayloads) return;
    this.#payloadBytes -= n;
    job.data = undefined;
  }

  /** Payload bytes of committed jobs held in memory. */
  get payloadBytes(): number {
    return this.#payloadBytes;
  }
}

const charAt = (s: string, i: number) => s.charCodeAt(i);
const byteAt = (b: Uint8Array, i: number) => b[i]!;

/**
 * The id of a handle `<prefix>:<id>` at `[start, end)` (a string or bytes): the digits after the
 * last colon, in canonical form (no sign, no leading zero, at most 16 digits: ids stay below
 * 2^53); -1 when there are none, which names no job.
 */
function handleId<T extends string | Uint8Array>(h: T, start: number, end: number, at: (h: T, i: number) => number): number {
  let colon = end - 1;
  while (colon >= start && at(h, colon) !== 0x3a) colon--;
  const digits = end - colon - 1;
  if (colon < start || digits === 0 || digits > 16) return -1;
  if (digits > 1 && at(h, colon + 1) === 0x30) return -1; // a leading zero names no job
  let id = 0;
  for (let i = colon + 1; i < end; i++) {
    const d = at(h, i) - 0x30;
    if (d < 0 || d > 9) return -1;
    id = id * 10 + d;
  }
  return id;
}
