/**
 * Function records kept in name order (byte order) as they come and go, so
 * `status` never sorts: with 100,000 functions a sort took 26–106 ms of one
 * loop turn (docs/reliability.md b27, b33). Records sit in blocks of at most
 * 512; an insert or delete is a binary search and a splice within one
 * block, and a listing copies the blocks out in order.
 *
 * @module
 */
import type { FunctionRecord } from "./function_record.ts";

const BLOCK = 512;

function before(a: string, b: string): boolean {
  return a < b;
}

export class SortedRecords {
  #blocks: FunctionRecord[][] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The block a name belongs in: the first whose last name is not before it. */
  #blockFor(name: string): number {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(blocks[mid]!.at(-1)!.name, name)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #indexIn(block: FunctionRecord[], name: string): number {
    let lo = 0;
    let hi = block.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(block[mid]!.name, name)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(rec: FunctionRecord): void {
    this.#size++;
    if (this.#blocks.length === 0) {
      this.#blocks.push([rec]);
      return;
    }
    const b = this.#blockFor(rec.name);
    const block = this.#blocks[b]!;
    block.splice(this.#indexIn(block, rec.name), 0, rec);
    if (block.length > BLOCK) this.#blocks.splice(b + 1, 0, block.splice(BLOCK / 2));
  }

  remove(rec: FunctionRecord): void {
    if (this.#blocks.length === 0) return;
    const b = this.#blockFor(rec.name);
    const block = this.#blocks[b];
    if (!block) return;
    const i = this.#indexIn(block, rec.name);
    if (block[i] !== rec) return;
    block.splice(i, 1);
    this.#size--;
    if (block.length === 0) this.#blocks.splice(b, 1);
  }

  clear(): void {
    this.#blocks = [];
    this.#size = 0;
  }

  /** Every record in name order (a fresh array: a listing may outlive changes). */
  toArray(): FunctionRecord[] {
    const out = new Array<FunctionRecord>(this.#size);
    let n = 0;
    for (const block of this.#blocks) for (const r of block) out[n++] = r;
    return out;
  }
}
