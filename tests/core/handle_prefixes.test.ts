/**
 * Handle prefixes by number (src/core/handle_prefixes.ts): a job keeps its
 * prefix as a number among its flags, and past the numbers there are, the
 * prefix itself, with the same handle either way.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HandlePrefixes, MAX_PREFIXES } from "../../src/core/handle_prefixes.ts";
import { FunctionRecord } from "../../src/core/function_record.ts";
import { Job, Priority } from "../../src/core/job.ts";
import { WorkloadPool } from "../../src/core/workload_pool.ts";

describe("handle prefixes", () => {
  test("this boot's prefix is 0, others get the next numbers once each, and shared gives one string per prefix", () => {
    const p = new HandlePrefixes("H:now");
    assert.equal(p.numberOf("H:now"), 0);
    assert.equal(p.numberOf("H:before"), 1);
    assert.equal(p.numberOf("H:other-node"), 2);
    assert.equal(p.numberOf("H:before"), 1);
    assert.equal(p.at(2), "H:other-node");
    assert.equal(p.own, "H:now");
    const made = ["H:", "before"].join("");
    assert.equal(p.shared(made), "H:before");
  });

  test("past the last number a job keeps its prefix itself, and its handle, state and priority are unchanged", () => {
    const prefixes = new HandlePrefixes("H:own");
    for (let i = 1; i < MAX_PREFIXES; i++) assert.equal(prefixes.numberOf(`H:${i}`), i);
    assert.equal(prefixes.numberOf("H:one-too-many"), -1);
    const fn = new FunctionRecord("f", [0, 0, 0], { workloads: new WorkloadPool(0), prefixes });
    const numbered = new Job(fn, 7, `H:${MAX_PREFIXES - 1}`, undefined, undefined, Priority.High, true, 0);
    const kept = new Job(fn, 8, "H:one-too-many", undefined, undefined, Priority.Low, false, 0);
    for (const job of [numbered, kept]) {
      job.state = "running";
      job.persisted = true;
    }
    assert.equal(numbered.handle, `H:${MAX_PREFIXES - 1}:7`);
    assert.equal(kept.handle, "H:one-too-many:8");
    assert.deepEqual([kept.priority, kept.state, kept.background, kept.persisted], [Priority.Low, "running", false, true]);
    assert.deepEqual([numbered.priority, numbered.state, numbered.background], [Priority.High, "running", true]);
  });
});
