/**
 * The client's write coalescing (src/client/write_coalescer.ts): a burst of
 * packets is one socket write after the first, in order; a lone packet goes
 * at once; a burst past the bound is written as it grows.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_HELD, WriteCoalescer } from "../../src/client/write_coalescer.ts";

const bytes = (...b: number[]) => new Uint8Array(b);
const turn = () => new Promise((r) => setTimeout(r, 0));

describe("the client's write coalescing", () => {
  test("a burst of a thousand packets reaches the socket as two writes, the first at once, every byte in order", async () => {
    const writes: number[][] = [];
    const out = new WriteCoalescer((b) => writes.push([...b]));
    for (let i = 0; i < 1000; i++) out.write(bytes(i & 0xff, i >> 8));
    assert.deepEqual(writes, [[0, 0]], "the first packet went before the burst ended");
    await turn();
    assert.equal(writes.length, 2);
    const all = writes.flat();
    for (let i = 0; i < 1000; i++) assert.deepEqual(all.slice(2 * i, 2 * i + 2), [i & 0xff, i >> 8], `packet ${i}`);
  });

  test("requests that each resume from an await, started together, join one write; a write in a later turn goes at once", async () => {
    const writes: number[][] = [];
    const out = new WriteCoalescer((b) => writes.push([...b]));
    const ready = Promise.resolve();
    // The shape of submitMultipleJobs: every request starts, awaits its (ready) connection, then writes.
    const sends = [1, 2, 3, 4].map(async (n) => {
      await ready;
      out.write(bytes(n));
    });
    await Promise.all(sends);
    await turn();
    out.write(bytes(5));
    assert.deepEqual(writes, [[1], [2, 3, 4], [5]]);
  });

  test("a burst past the bound is written as it grows, and flush writes what is held at once", () => {
    const writes: Uint8Array[] = [];
    const out = new WriteCoalescer((b) => writes.push(b));
    const big = new Uint8Array(64 * 1024);
    for (let i = 0; i < 10; i++) out.write(big);
    assert.ok(writes.length >= 3, `${writes.length} writes`);
    assert.ok(writes.every((w) => w.byteLength <= MAX_HELD), "nothing held past the bound");
    const before = writes.length;
    out.write(bytes(9));
    out.flush();
    assert.equal(writes.length, before + 1, "flush (before a close) sends what waits, at once");
    assert.equal(writes.at(-1)!.at(-1), 9);
    assert.equal(writes.reduce((n, w) => n + w.byteLength, 0), 10 * big.byteLength + 1, "every byte once");
  });
});
