import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { IdTable } from "../../src/core/id_table.ts";

describe("IdTable", () => {
  test("stores, finds and deletes values by id across pages", () => {
    const t = new IdTable<string>();
    for (const id of [1, 4095, 4096, 9000, 100_000]) t.set(id, `v${id}`);
    assert.equal(t.size, 5);
    assert.equal(t.get(4096), "v4096");
    assert.equal(t.get(4097), undefined);
    assert.equal(t.delete(4096), true);
    assert.equal(t.delete(4096), false);
    assert.equal(t.get(4096), undefined);
    assert.equal(t.size, 4);
    assert.deepEqual([...t.values()], ["v1", "v4095", "v9000", "v100000"]);
  });

  test("overwriting an id keeps the size", () => {
    const t = new IdTable<number>();
    t.set(7, 1);
    t.set(7, 2);
    assert.equal(t.size, 1);
    assert.equal(t.get(7), 2);
  });

  test("ids created and deleted one at a time reuse the newest page (no churn)", () => {
    const t = new IdTable<number>();
    for (let id = 1; id <= 10_000; id++) {
      t.set(id, id);
      assert.equal(t.delete(id), true);
    }
    assert.equal(t.size, 0);
    t.set(10_001, 1);
    assert.equal(t.get(10_001), 1);
    assert.deepEqual([...t.values()], [1]);
  });

  test("an old page is dropped once its last value leaves, and lookups there miss", () => {
    const t = new IdTable<number>();
    t.set(5, 5);
    t.set(50_000, 6);
    t.delete(5);
    assert.equal(t.get(5), undefined);
    t.set(6, 7); // an old page can come back (restored ids)
    assert.equal(t.get(6), 7);
    assert.equal(t.size, 2);
  });
});
