import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SmallSet } from "../../src/core/small_set.ts";

describe("small set: the jobs one connection holds or waits on", () => {
  test("adds once, deletes keeping the others' order, and reports size and membership", () => {
    const s = new SmallSet<string>();
    for (const x of ["a", "b", "a", "c", "d"]) s.add(x);
    assert.deepEqual([...s], ["a", "b", "c", "d"]);
    assert.equal(s.delete("b"), true);
    assert.equal(s.delete("b"), false);
    assert.deepEqual([...s], ["a", "c", "d"]);
    assert.equal(s.size, 3);
    assert.equal(s.has("c"), true);
    assert.equal(s.has("b"), false);
  });

  test("past eight elements it keeps insertion order, membership and size, and after emptying starts small again", () => {
    const s = new SmallSet<number>();
    for (let i = 0; i < 20; i++) s.add(i);
    s.add(3);
    assert.equal(s.size, 20);
    assert.equal(s.delete(5), true);
    assert.deepEqual([...s], [...Array(20).keys()].filter((i) => i !== 5));
    for (let i = 0; i < 20; i++) s.delete(i);
    assert.equal(s.size, 0);
    s.add(7).add(1);
    assert.deepEqual([...s], [7, 1]);
    s.clear();
    assert.deepEqual([...s], []);
  });

  test("a walk sees every element that was there when it began, even when the walk deletes them", () => {
    for (const n of [3, 12]) {
      const s = new SmallSet<number>();
      for (let i = 0; i < n; i++) s.add(i);
      const seen: number[] = [];
      for (const x of s) {
        seen.push(x);
        s.delete(x);
        s.delete(x + 1);
      }
      assert.deepEqual(seen, [...Array(n).keys()], `${n} elements`);
      assert.equal(s.size, 0);
    }
  });
});
