import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { FunctionRecord } from "../../src/core/function_record.ts";
import type { Job } from "../../src/core/job.ts";
import { UniqueIndex } from "../../src/core/unique_index.ts";
import { mulberry32 as random } from "../helpers/prng.ts";

const fnA = { name: "a" } as FunctionRecord;
const fnB = { name: "b" } as FunctionRecord;

/** An index over a plain id → job map, as the server's job table resolves it. */
function indexed() {
  const live = new Map<number, Job>();
  const index = new UniqueIndex((id) => live.get(id));
  let nextId = 1;
  return {
    index,
    add(fn: FunctionRecord, key: string, id = nextId++): Job {
      const job = { id, fn, uniqueKey: key } as Job;
      live.set(id, job);
      index.add(job);
      return job;
    },
    remove(job: Job) {
      live.delete(job.id); // as the server does: the job leaves its table first
      index.remove(job);
    },
  };
}

describe("the unique index", () => {
  test("finds a job by function and key, and by key alone; the same key in two functions are two jobs", () => {
    const t = indexed();
    const a = t.add(fnA, "k");
    const b = t.add(fnB, "k");
    assert.equal(t.index.get(fnA, "k"), a);
    assert.equal(t.index.get(fnB, "k"), b);
    assert.ok([a, b].includes(t.index.any("k")!));
    t.remove(a);
    assert.equal(t.index.get(fnA, "k"), undefined);
    assert.equal(t.index.any("k"), b);
    assert.equal(t.index.size, 1);
  });

  test("an unknown key, or a known key in another function, is not found", () => {
    const t = indexed();
    t.add(fnA, "x");
    assert.equal(t.index.get(fnB, "x"), undefined);
    assert.equal(t.index.get(fnA, "y"), undefined);
    assert.equal(t.index.any("y"), undefined);
  });

  test("a key looked up and missed, then added in the same or another function, is found where it belongs", () => {
    const t = indexed();
    assert.equal(t.index.get(fnA, "k"), undefined);
    const b = t.add(fnB, "k"); // the miss was fnA's: fnB's job goes in, and fnA still has none
    assert.equal(t.index.get(fnA, "k"), undefined);
    assert.equal(t.index.get(fnB, "k"), b);
    const a = t.add(fnA, "k");
    assert.equal(t.index.get(fnA, "k"), a);
    assert.equal(t.index.any("z"), undefined);
    t.remove(b); // a removal between a miss and an add
    const z = t.add(fnA, "z");
    assert.deepEqual([t.index.get(fnA, "z"), t.index.get(fnB, "k"), t.index.get(fnA, "k")], [z, undefined, a]);
    for (let i = 0; i < 100; i++) { // misses right before the adds that grow the table
      assert.equal(t.index.get(fnA, `g${i}`), undefined);
      t.add(fnA, `g${i}`);
    }
    for (let i = 0; i < 100; i++) assert.equal(t.index.get(fnA, `g${i}`)?.uniqueKey, `g${i}`);
  });

  test("ids past 2^31 stay exact", () => {
    const t = indexed();
    const j = t.add(fnA, "big", 2 ** 40 + 3);
    assert.equal(t.index.get(fnA, "big"), j);
  });

  test("agrees with a Map through 200,000 random adds and removes, growing and shrinking", () => {
    const t = indexed();
    const reference = new Map<string, Job>();
    const names: string[] = []; // reference's keys, for picking one at random
    const rnd = random(42);
    const removeAt = (at: number) => {
      const pick = names[at]!;
      names[at] = names[names.length - 1]!;
      names.pop();
      t.remove(reference.get(pick)!);
      reference.delete(pick);
    };
    for (let step = 0; step < 200_000; step++) {
      // Phases: mostly adds, then mostly removes, so the table grows and shrinks.
      const adding = rnd() < (step % 50_000 < 30_000 ? 0.8 : 0.2);
      if (adding || reference.size === 0) {
        const fn = rnd() < 0.5 ? fnA : fnB;
        const key = `u${Math.floor(rnd() * 40_000)}`;
        if (reference.has(`${fn.name}/${key}`)) continue;
        // As the server does: looked up (twice) before it is added, sometimes in the other function too.
        assert.equal(t.index.get(fn, key), undefined);
        if (rnd() < 0.3) t.index.get(fn === fnA ? fnB : fnA, key);
        assert.equal(t.index.get(fn, key), undefined);
        if (names.length > 0 && rnd() < 0.2) removeAt(Math.floor(rnd() * names.length)); // a removal between
        reference.set(`${fn.name}/${key}`, t.add(fn, key));
        names.push(`${fn.name}/${key}`);
      } else removeAt(Math.floor(rnd() * names.length));
      if (step % 2_000 === 0) {
        for (const [k, job] of reference) assert.equal(t.index.get(job.fn, job.uniqueKey!), job, k);
      }
    }
    assert.equal(t.index.size, reference.size);
    for (const job of reference.values()) assert.equal(t.index.get(job.fn, job.uniqueKey!), job);
    // Emptying it shrinks the table step by step; what is left must stay findable.
    const left = [...reference.values()];
    while (left.length > 0) {
      t.remove(left.pop()!);
      if (left.length % 5000 === 0) { for (const job of left) assert.equal(t.index.get(job.fn, job.uniqueKey!), job); }
    }
    assert.equal(t.index.size, 0);
    assert.equal(t.index.any("u1"), undefined);
  });
});
