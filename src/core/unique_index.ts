/**
 * Live jobs by unique, across functions. Coalescing looks a unique up within
 * one function; GET_STATUS_UNIQUE looks it up without a function, which
 * must not mean a walk over every function (up to max_functions of them).
 *
 * A million queued jobs with uniques are the common case of a durable
 * queue, so this is an open-addressing table of job ids in two typed
 * arrays (12 bytes a slot, at most half full) rather than a Map, whose
 * entries cost several times that and are objects the collector must trace.
 * The key strings stay on the jobs; a slot holds the key's hash and the
 * job id, and a hit is confirmed against the job itself.
 *
 * @module
 */
import type { FunctionRecord } from "./function_record.ts";
import type { Job } from "./job.ts";

const MIN_CAPACITY = 16;

/** 32-bit FNV-1a over UTF-16 code units: cheap, and good enough with the equality check behind it. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 0;
}

export class UniqueIndex {
  /** Job ids by slot; 0 marks an empty slot (ids start at 1). Float64 keeps ids exact past 2^31. */
  #ids = new Float64Array(MIN_CAPACITY);
  #hashes = new Int32Array(MIN_CAPACITY);
  #size = 0;
  /**
   * The last lookup that found nothing, while the table has not changed
   * since: its key and function, the key's hash and the empty slot that ended
   * its probe. A new job is looked up twice and then added with the same
   * key; those find the answer, and the slot, without hashing again.
   */
  #missKey: string | undefined;
  #missFn: FunctionRecord | undefined;
  #missHash = 0;
  #missSlot = 0;
  readonly #resolve: (id: number) => Job | undefined;

  /** `resolve` finds a live job by id; every indexed job must be resolvable while indexed. */
  constructor(resolve: (id: number) => Job | undefined) {
    this.#resolve = resolve;
  }

  get size(): number {
    return this.#size;
  }

  /** The live job of `fn` with this coalescing key. */
  get(fn: FunctionRecord, key: string): Job | undefined {
    return this.#find(key, fn);
  }

  /** A live job with this key in any function (GET_STATUS_UNIQUE). */
  any(key: string): Job | undefined {
    return this.#find(key, undefined);
  }

  add(job: Job): void {
    const key = job.uniqueKey!;
    const memo = key === this.#missKey;
    const hash = memo ? this.#missHash : hashOf(key);
    this.#missKey = undefined;
    const grows = (this.#size + 1) * 2 > this.#ids.length;
    if (grows) this.#rehash(this.#ids.length * 2);
    // The remembered slot is where the probe would end, unless the table was just rebuilt.
    const slot = memo && !grows ? this.#missSlot : this.#slotFor(hash);
    this.#ids[slot] = job.id;
    this.#hashes[slot] = hash;
    this.#size++;
  }

  remove(job: Job): void {
    this.#missKey = undefined;
    const mask = this.#ids.length - 1;
    const ids = this.#ids;
    const hashes = this.#hashes;
    const h = hashOf(job.uniqueKey!);
    let i = h & mask;
    while (ids[i] !== job.id) {
      if (ids[i] === 0) return;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: pull later entries of the run into the hole
    // unless their home slot lies after it, so no tombstones accumulate.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (ids[j] === 0) break;
      const home = hashes[j]! & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      ids[i] = ids[j]!;
      hashes[i] = hashes[j]!;
      i = j;
    }
    ids[i] = 0;
    this.#size--;
    // Give memory back after a burst: shrink when an eighth full.
    if (this.#size * 8 < this.#ids.length && this.#ids.length > MIN_CAPACITY) this.#rehash(this.#ids.length / 2);
  }

  #find(key: string, fn: FunctionRecord | undefined): Job | undefined {
    if (key === this.#missKey && fn === this.#missFn) return undefined;
    const mask = this.#ids.length - 1;
    const h = hashOf(key);
    let i = h & mask;
    for (; this.#ids[i] !== 0; i = (i + 1) & mask) {
      if (this.#hashes[i] !== h) continue;
      const job = this.#resolve(this.#ids[i]!);
      if (job !== undefined && job.uniqueKey === key && (fn === undefined || job.fn === fn)) return job;
    }
    this.#missKey = key;
    this.#missFn = fn;
    this.#missHash = h;
    this.#missSlot = i;
    return undefined;
  }

  /** The first empty slot of `hash`'s probe. */
  #slotFor(hash: number): number {
    const mask = this.#ids.length - 1;
    let i = hash & mask;
    while (this.#ids[i] !== 0) i = (i + 1) & mask;
    return i;
  }

  #place(id: number, hash: number): void {
    const i = this.#slotFor(hash);
    this.#ids[i] = id;
    this.#hashes[i] = hash;
  }

  #rehash(capacity: number): void {
    this.#missKey = undefined;
    const ids = this.#ids;
    const hashes = this.#hashes;
    this.#ids = new Float64Array(capacity);
    this.#hashes = new Int32Array(capacity);
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) this.#place(ids[i]!, hashes[i]!);
  }
}
