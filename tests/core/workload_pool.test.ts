/**
 * The workload pool (src/core/workload_pool.ts): small foreground workloads
 * in pages of one slot size each, freed slots reused, the pages let go when
 * the pool empties, and -1 (the caller keeps its own buffer) whenever a
 * workload does not fit.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KEEP_PAGES, PAGE, POOLED_MAX, WorkloadPool } from "../../src/core/workload_pool.ts";

/** `n` bytes that differ from position to position and from `seed` to seed. */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

describe("workload pool", () => {
  test("every length from 0 to the largest a slot holds comes back byte for byte, from any range of its source", () => {
    const pool = new WorkloadPool(64 * PAGE);
    const lengths = [0, 1, 2, 29, 30, 31, 62, 100, 126, 127, 1000, 2046, 2047, POOLED_MAX - 1, POOLED_MAX];
    const slots = lengths.map((n, k) => {
      const source = bytes(n + 10, k);
      const slot = pool.store(source, 5, 5 + n);
      assert.ok(slot >= 0, `${n} bytes fit`);
      return { slot, want: source.slice(5, 5 + n) };
    });
    for (const { slot, want } of slots) {
      assert.equal(pool.length(slot), want.length);
      assert.deepEqual(pool.copy(slot), want);
      const start = pool.start(slot);
      assert.deepEqual(pool.page(slot).subarray(start, start + want.length), want, "the page range is the workload");
    }
    assert.equal(pool.live, lengths.length);
  });

  test("a workload over the largest slot is refused with -1 and takes nothing", () => {
    const pool = new WorkloadPool(64 * PAGE);
    assert.equal(pool.store(bytes(POOLED_MAX + 1, 1), 0, POOLED_MAX + 1), -1);
    assert.equal(pool.live, 0);
    assert.equal(pool.bytes, 0);
  });

  test("a freed slot is reused by the next workload of its size class and never shared by two live ones", () => {
    const pool = new WorkloadPool(64 * PAGE);
    const a = pool.store(bytes(100, 1), 0, 100);
    const b = pool.store(bytes(100, 2), 0, 100);
    assert.notEqual(a, b);
    pool.free(a);
    const c = pool.store(bytes(120, 3), 0, 120); // the same class (128-byte slots)
    assert.equal(c, a, "the freed slot comes back first");
    const d = pool.store(bytes(100, 4), 0, 100);
    assert.ok(d !== a && d !== b, "a live slot is not handed out again");
    assert.deepEqual(pool.copy(b), bytes(100, 2), "the neighbour is untouched");
    assert.deepEqual(pool.copy(c), bytes(120, 3));
  });

  test("a full pool answers -1, and a freed slot of the right class makes room again", () => {
    const pool = new WorkloadPool(PAGE); // one page
    const slots: number[] = [];
    for (let k = 0; k < PAGE / 128; k++) slots.push(pool.store(bytes(100, k), 0, 100));
    assert.ok(slots.every((s) => s >= 0));
    assert.equal(pool.store(bytes(100, 9), 0, 100), -1, "the page of 128-byte slots is full");
    assert.equal(pool.store(bytes(10, 9), 0, 10), -1, "and no page is left for another class");
    pool.free(slots[7]!);
    assert.equal(pool.store(bytes(100, 9), 0, 100), slots[7]);
    assert.equal(new WorkloadPool(0).store(bytes(1, 1), 0, 1), -1, "a pool of 0 bytes holds nothing");
  });

  test("when the last slot is freed a pool of more than the kept pages lets them all go; a smaller one keeps them", () => {
    const big = new WorkloadPool(1024 * PAGE);
    const slots: number[] = [];
    for (let k = 0; k < (KEEP_PAGES + 2) * (PAGE / 4096); k++) slots.push(big.store(bytes(4000, k), 0, 4000));
    assert.equal(big.bytes, (KEEP_PAGES + 2) * PAGE);
    for (const s of slots.slice(1)) big.free(s);
    assert.equal(big.bytes, (KEEP_PAGES + 2) * PAGE, "one live slot keeps every page");
    big.free(slots[0]!);
    assert.equal(big.bytes, 0);
    assert.equal(big.live, 0);
    const again = big.store(bytes(50, 5), 0, 50);
    assert.deepEqual(big.copy(again), bytes(50, 5), "the pool starts over");

    const small = new WorkloadPool(1024 * PAGE);
    small.free(small.store(bytes(50, 1), 0, 50));
    assert.equal(small.bytes, PAGE, "a pool at or under the kept pages keeps them");
  });
});
