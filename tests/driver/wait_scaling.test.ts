/** Scaling on wait time (target_wait): the pure decision, as a table. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decideScale, type ScaleInput } from "../../src/driver/scaling.ts";
import type { WaitInput } from "../../src/driver/wait_target.ts";
import { driveSetting } from "../../src/config/drive_options.ts";

const base: ScaleInput = { min: 1, max: 10, current: 1, busy: 1, waiting: 0, idle: [], busyPids: [10], maxIdleMs: 5000 };
const wait = (w: Partial<WaitInput>): Partial<ScaleInput> => ({
  wait: { oldestAgeMs: 0, targetWaitMs: 2000, ratePerProcess: 1, ...w },
});

const cases: [string, Partial<ScaleInput>, { start: number; stop?: number[]; reason: RegExp; overMs?: number }][] = [
  ["nothing waits: no change", wait({}), { start: 0, reason: /^$/ }],
  ["a deep queue the processes clear within the target: no change (depth alone would start 7)", {
    waiting: 8,
    current: 4,
    busy: 4,
    busyPids: [1, 2, 3, 4],
    ...wait({ oldestAgeMs: 500, ratePerProcess: 1 }),
  }, { start: 0, reason: /^$/ }],
  ["under the target but the queue will miss it at this rate: start enough before it does", {
    waiting: 12,
    ...wait({ oldestAgeMs: 1000, ratePerProcess: 2 }),
  }, { start: 2, reason: /^target_wait would be missed: .*under by 1\.00 s, rate 2\.00\/s per process; starting 2 \(1 -> 3\)/ }],
  ["over the target: at least one more process even when the rate says enough", {
    waiting: 1,
    ...wait({ oldestAgeMs: 3500, ratePerProcess: 10 }),
  }, { start: 1, reason: /^oldest job over target_wait: .*oldest waited 3\.50 s, target 2 s, over by 1\.50 s/, overMs: 1500 }],
  ["over the target with a slow rate: as many as the rate needs", {
    waiting: 9,
    ...wait({ oldestAgeMs: 2500, ratePerProcess: 0.5 }),
  }, { start: 8, reason: /over by 0\.50 s.*starting 8 \(1 -> 9\)/, overMs: 500 }],
  ["over the target before any run was measured: one per waiting job (the depth rule)", {
    waiting: 3,
    ...wait({ oldestAgeMs: 2100, ratePerProcess: undefined }),
  }, { start: 3, reason: /rate unknown; starting 3/ }],
  ["under the target before any run was measured: wait for a measure", {
    waiting: 3,
    ...wait({ oldestAgeMs: 1500, ratePerProcess: undefined }),
  }, { start: 0, reason: /^$/ }],
  ["min 0 with no process and a job waiting: start one at once", {
    min: 0,
    current: 0,
    busy: 0,
    busyPids: [],
    waiting: 1,
    ...wait({ oldestAgeMs: 10, ratePerProcess: undefined }),
  }, { start: 1, reason: /starting 1 \(0 -> 1\)/ }],
  ["over the target at max: no change", { max: 1, waiting: 5, ...wait({ oldestAgeMs: 9000 }) }, { start: 0, reason: /^$/ }],
  ["nothing waits and a spare idles past max_idle_time: stopped as with depth", {
    current: 2,
    busy: 0,
    busyPids: [],
    idle: [{ pid: 1, idleMs: 6000 }, { pid: 2, idleMs: 10 }],
    ...wait({}),
  }, { start: 0, stop: [1], reason: /^idle: .*stopping 1/ }],
];

for (const [name, change, want] of cases) {
  test(`scaling on wait time: ${name}`, () => {
    const d = decideScale({ ...base, ...change });
    assert.equal(d.start, want.start, d.reason);
    assert.deepEqual(d.stop, want.stop ?? []);
    assert.match(d.reason, want.reason);
    if (want.overMs !== undefined) assert.equal(d.overMs, want.overMs);
  });
}

test("a target_wait that is not a number of seconds from 0.1 is refused, naming the key and the file", () => {
  assert.throws(
    () => driveSetting("jobs", { rev: { command: ["rev"], target_wait: 0 } }, "drive.yaml"),
    /drive\.yaml: jobs\.rev\.target_wait must be a number of seconds from 0\.1 to 86400, got 0/,
  );
  assert.throws(
    () => driveSetting("job_runtime_attributes", { "t.run": { target_wait: "2s" } }, "drive.yaml"),
    /drive\.yaml: job_runtime_attributes\.t\.run\.target_wait must be a number of seconds/,
  );
  assert.equal(driveSetting("jobs", { rev: { command: ["rev"], target_wait: 2 } }, "drive.yaml").jobs!.rev!.target_wait, 2);
});
