/** The observer's pure scaling decision, as a table. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decideScale, type ScaleInput } from "../../src/driver/scaling.ts";

const base: ScaleInput = { min: 1, max: 4, current: 1, busy: 0, waiting: 0, idle: [{ pid: 10, idleMs: 0 }], busyPids: [], maxIdleMs: 5000 };

const cases: [string, Partial<ScaleInput>, { start: number; stop: number[]; reason: RegExp }][] = [
  ["nothing waiting at min: no change", {}, { start: 0, stop: [], reason: /^$/ }],
  ["below min with nothing waiting: start up to min", { current: 0, idle: [] }, { start: 1, stop: [], reason: /^below min: .*starting 1/ }],
  ["jobs waiting: enough processes for every job, the idle one included", { waiting: 2 }, {
    start: 1,
    stop: [],
    reason: /^jobs waiting: 2 waiting.*starting 1/,
  }],
  ["many jobs waiting: never beyond max", { waiting: 100 }, { start: 3, stop: [], reason: /starting 3/ }],
  ["busy processes count towards the need", { current: 2, busy: 2, waiting: 1, idle: [], busyPids: [1, 2] }, {
    start: 1,
    stop: [],
    reason: /starting 1/,
  }],
  ["at max with jobs waiting: no change", { current: 4, busy: 4, waiting: 9, idle: [], busyPids: [1, 2, 3, 4] }, {
    start: 0,
    stop: [],
    reason: /^$/,
  }],
  [
    "idle over max_idle_time above min: stop the most idle, down to min",
    { current: 3, idle: [{ pid: 1, idleMs: 6000 }, { pid: 2, idleMs: 9000 }, { pid: 3, idleMs: 7000 }] },
    { start: 0, stop: [2, 3], reason: /^idle: .*stopping 2 idle over 5 s/ },
  ],
  ["idle but not long enough: keep", { current: 3, idle: [{ pid: 1, idleMs: 100 }, { pid: 2, idleMs: 4999 }, { pid: 3, idleMs: 0 }] }, {
    start: 0,
    stop: [],
    reason: /^$/,
  }],
  ["idle while jobs wait: keep (they are about to grab)", {
    current: 3,
    waiting: 1,
    idle: [{ pid: 1, idleMs: 60000 }, { pid: 2, idleMs: 60000 }, { pid: 3, idleMs: 60000 }],
  }, { start: 0, stop: [], reason: /^$/ }],
  [
    "max_idle_time 0 (Gearman::Driver's meaning): spare processes with no job stop at once, down to min",
    { current: 3, maxIdleMs: 0, idle: [{ pid: 1, idleMs: 0 }, { pid: 2, idleMs: 5 }, { pid: 3, idleMs: 0 }] },
    { start: 0, stop: [2, 1], reason: /^idle: .*stopping 2 with no job \(max_idle_time 0\)/ },
  ],
  ["max_idle_time 0: the idle spare stops, the busy process keeps running its job", {
    min: 0,
    current: 2,
    busy: 1,
    maxIdleMs: 0,
    idle: [{ pid: 1, idleMs: 0 }],
    busyPids: [2],
  }, { start: 0, stop: [1], reason: /^idle: .*stopping 1/ }],
  ["max_idle_time 0 at min: nothing stops", { maxIdleMs: 0 }, { start: 0, stop: [], reason: /^$/ }],
  [
    "max lowered below current: stop idle first, then busy",
    { max: 1, min: 0, current: 3, busy: 2, idle: [{ pid: 7, idleMs: 10 }], busyPids: [8, 9] },
    { start: 0, stop: [7, 8], reason: /^above max: .*stopping 2/ },
  ],
  ["max 0 disables the job", { min: 0, max: 0, current: 0, idle: [], waiting: 5 }, { start: 0, stop: [], reason: /^$/ }],
];

for (const [name, change, want] of cases) {
  test(`scaling: ${name}`, () => {
    const d = decideScale({ ...base, ...change });
    assert.equal(d.start, want.start);
    assert.deepEqual(d.stop, want.stop);
    assert.match(d.reason, want.reason);
  });
}
