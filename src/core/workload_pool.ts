/**
 * Small workloads of live jobs, kept in a few large pages instead of
 * one collected Uint8Array each. A 100-byte workload as its own Uint8Array
 * costs about 160 bytes of collected heap (the view object and its bytes),
 * half of what a foreground job allocated; here it costs a slot in a page
 * that lives as long as the pool, so the steady state allocates nothing for it.
 *
 * A slot is a number: the page's index times {@link PAGE} plus the slot's
 * offset in it. Each page holds slots of one size class (32 bytes to 4 KiB,
 * powers of two); a slot's first two bytes hold the workload's length. Freed
 * slots go on their class's free list and are reused first. When the last
 * slot is freed and the pool holds more than {@link KEEP_PAGES} pages, every
 * page is let go: the memory a burst took returns to the collector.
 *
 * Two kinds of workload use it: a foreground job's, from its submission,
 * and a committed background job's that stays in memory (`max_payload_memory`),
 * from its commit on (the store has its own copy by then). Either is read
 * by the JOB_ASSIGN encoder (copied into the connection's output, never
 * lent) and freed when the job leaves the table or leaves its workload to
 * the store, so no view of a slot outlives its job; reading a job's `data`
 * copies the slot out. A workload that does not fit (over {@link POOLED_MAX}
 * bytes, or the pool at its `maxBytes`) stays a Uint8Array of its own, as
 * before. Pure: no I/O.
 *
 * @module
 */
import { copyBytes } from "../protocol/encoder.ts";

const PAGE_BITS = 16;
/** Bytes per page. */
export const PAGE = 1 << PAGE_BITS;
const SMALLEST_BITS = 5; // 32-byte slots
const CLASSES = 8; // 32 B to 4 KiB
/** Bytes of the length kept in front of a slot's workload. */
const HEAD = 2;
/** The largest workload a slot holds. */
export const POOLED_MAX = (1 << (SMALLEST_BITS + CLASSES - 1)) - HEAD;
/** Pages kept when the pool empties; more are let go. */
export const KEEP_PAGES = 16;
/** Most bytes a pool may take (slots are numbers below 2^31). */
export const MAX_POOL_BYTES = 2 ** 30;

/** The size class of a slot holding `bytes` (length included): 0 for 32 bytes, 7 for 4 KiB. */
function classOf(bytes: number): number {
  const bits = 32 - Math.clz32(bytes - 1);
  return bits <= SMALLEST_BITS ? 0 : bits - SMALLEST_BITS;
}

export class WorkloadPool {
  readonly #pages: Uint8Array[] = [];
  readonly #free: number[][] = Array.from({ length: CLASSES }, () => []);
  /** Per class: the page being carved into slots (-1: none) and its next free offset. */
  readonly #carving: number[] = Array(CLASSES).fill(-1);
  readonly #next: number[] = Array(CLASSES).fill(PAGE);
  readonly #maxPages: number;
  #live = 0;

  /** `maxBytes`: the most the pages may take (0: the pool holds nothing; every workload keeps its own buffer). */
  constructor(maxBytes: number) {
    this.#maxPages = Math.floor(Math.min(maxBytes, MAX_POOL_BYTES) / PAGE);
  }

  /** Slots in use. */
  get live(): number {
    return this.#live;
  }

  /** Bytes the pages take. */
  get bytes(): number {
    return this.#pages.length * PAGE;
  }

  /** Keeps a copy of `bytes[from, to)`: its slot, or -1 when it does not fit (the caller keeps a buffer of its own). */
  store(bytes: Uint8Array, from: number, to: number): number {
    const n = to - from;
    if (n > POOLED_MAX) return -1;
    const c = classOf(n + HEAD);
    const slot = this.#free[c]!.pop() ?? this.#carve(c);
    if (slot < 0) return -1;
    const page = this.#pages[slot >>> PAGE_BITS]!;
    const at = slot & (PAGE - 1);
    page[at] = n >>> 8;
    page[at + 1] = n & 0xff;
    copyBytes(bytes, from, to, page, at + HEAD);
    this.#live++;
    return slot;
  }

  /** A new slot of class `c` from the page being carved, or a new page; -1 when the pool is full. */
  #carve(c: number): number {
    const size = 1 << (SMALLEST_BITS + c);
    let page = this.#carving[c]!;
    if (page < 0 || this.#next[c]! + size > PAGE) {
      if (this.#pages.length >= this.#maxPages) return -1;
      page = this.#carving[c] = this.#pages.length;
      this.#pages.push(new Uint8Array(PAGE));
      this.#next[c] = 0;
    }
    const at = this.#next[c]!;
    this.#next[c] = at + size;
    return (page << PAGE_BITS) | at;
  }

  /** Gives a slot back; it must not be used again. */
  free(slot: number): void {
    const page = this.#pages[slot >>> PAGE_BITS]!;
    const at = slot & (PAGE - 1);
    this.#free[classOf(((page[at]! << 8) | page[at + 1]!) + HEAD)]!.push(slot);
    if (--this.#live === 0 && this.#pages.length > KEEP_PAGES) this.#reset();
  }

  #reset(): void {
    this.#pages.length = 0;
    for (let c = 0; c < CLASSES; c++) {
      this.#free[c]!.length = 0;
      this.#carving[c] = -1;
      this.#next[c] = PAGE;
    }
  }

  /** The workload's length. */
  length(slot: number): number {
    const page = this.#pages[slot >>> PAGE_BITS]!;
    const at = slot & (PAGE - 1);
    return (page[at]! << 8) | page[at + 1]!;
  }

  /** The page holding the slot: its workload is `page(slot)[start(slot), start(slot) + length(slot))`, valid until freed. */
  page(slot: number): Uint8Array {
    return this.#pages[slot >>> PAGE_BITS]!;
  }

  start(slot: number): number {
    return (slot & (PAGE - 1)) + HEAD;
  }

  /** The workload as a Uint8Array of its own. */
  copy(slot: number): Uint8Array {
    const start = this.start(slot);
    return this.page(slot).slice(start, start + this.length(slot));
  }
}
