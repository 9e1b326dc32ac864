/** `gearbox top`'s reducer and selectors, as tables of state → action → state. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Action,
  initialState,
  nodeRows,
  processItems,
  queueRows,
  reduce,
  selectedFunction,
  selectedProcessItem,
  serverTotals,
  type ServerView,
  stale,
  type State,
} from "../../tui/state.ts";
import type { DriverJob } from "../../src/client/driver_console.ts";
import { nodeRow } from "../helpers/node_rows.ts";

const T = 1_800_000_000_000;
const base = () => initialState({ readOnly: false, width: 120, height: 40, intervalMs: 1000, now: T });

function server(address: string, rows: Partial<ServerView["rows"][number]>[], extra: Partial<ServerView> = {}): ServerView {
  return {
    address,
    up: true,
    at: T,
    gearbox: true,
    rows: rows.map((r) => ({ function: "f", queued: 0, running: 0, workers: 0, ...r })),
    ...extra,
  };
}

function job(name: string, pids: number[], extra: Partial<DriverJob> = {}): DriverJob {
  return {
    name,
    functions: [name],
    kind: "command",
    min: 1,
    max: 3,
    current: pids.length,
    state: "ok",
    crashes: 0,
    waiting: 0,
    lastrun: 0,
    lasterror: 0,
    lasterror_msg: "",
    processes: pids.map((pid) => ({ pid, state: "idle", started: T, uptime_ms: 1000, jobs_done: 0, job: null })),
    ...extra,
  };
}

const run = (state: State, ...actions: Action[]) => actions.reduce(reduce, state);

test("queues: rows from every live server are summed per function; a down server contributes nothing", () => {
  const s = run(base(), {
    type: "servers",
    now: T,
    servers: [
      server("a:1", [{ function: "resize", queued: 3, running: 1, workers: 2, high: 1, normal: 2, low: 0, dead: 1 }, {
        function: "mail",
        queued: 1,
      }]),
      server("b:1", [{ function: "resize", queued: 2, running: 0, workers: 1, high: 0, normal: 2, low: 0, dead: 0 }]),
      server("c:1", [], { up: false, error: "ECONNREFUSED" }),
    ],
  });
  const rows = queueRows(s);
  assert.deepEqual(rows.map((r) => [r.function, r.queued, r.running, r.workers, r.high, r.normal, r.dead]), [
    ["mail", 1, 0, 0, undefined, undefined, undefined],
    ["resize", 5, 1, 3, 1, 4, 1],
  ]);
});

test("throughput: completed and failed deltas per second become samples; a counter that drops counts as 0", () => {
  let s = run(base(), { type: "servers", now: T, servers: [server("a:1", [{ function: "f", completed: 10, failed: 0 }])] });
  s = reduce(s, { type: "servers", now: T + 2000, servers: [server("a:1", [{ function: "f", completed: 30, failed: 2 }])] });
  assert.deepEqual(s.throughput.f!.samples, [11]);
  s = reduce(s, { type: "servers", now: T + 3000, servers: [server("a:1", [{ function: "f", completed: 0, failed: 0 }])] });
  assert.deepEqual(s.throughput.f!.samples, [11, 0]);
  assert.equal(queueRows(s)[0]!.rate, 0);
  for (let i = 0; i < 40; i++) {
    s = reduce(s, { type: "servers", now: T + 4000 + i * 1000, servers: [server("a:1", [{ function: "f", completed: i }])] });
  }
  assert.equal(s.throughput.f!.samples.length, 30, "bounded history");
});

test("oldest waiting job: the age of the oldest across servers", () => {
  const s = run(base(), {
    type: "servers",
    now: T,
    servers: [server("a:1", [{ function: "f", oldestQueuedAt: T - 5000 }]), server("b:1", [{ function: "f", oldestQueuedAt: T - 9000 }])],
  });
  assert.equal(queueRows(s)[0]!.oldestAgeMs, 9000);
});

test("sort cycles name → queued → running → rate, and rows follow", () => {
  let s = run(base(), {
    type: "servers",
    now: T,
    servers: [server("a:1", [{ function: "a", queued: 1, running: 5 }, { function: "b", queued: 9, running: 0 }])],
  });
  assert.deepEqual(queueRows(s).map((r) => r.function), ["a", "b"]);
  s = reduce(s, { type: "sort" });
  assert.equal(s.sort, "queued");
  assert.deepEqual(queueRows(s).map((r) => r.function), ["b", "a"]);
  s = reduce(s, { type: "sort" });
  assert.deepEqual(queueRows(s).map((r) => r.function), ["a", "b"]);
  s = run(s, { type: "sort" }, { type: "sort" });
  assert.equal(s.sort, "name");
});

test("filter: typing narrows queues and processes, backspace widens, Esc clears, Enter keeps", () => {
  let s = run(
    base(),
    { type: "servers", now: T, servers: [server("a:1", [{ function: "resize" }, { function: "mail" }])] },
    { type: "drivers", now: T, drivers: [{ address: "d:1", up: true, at: T, jobs: [job("resize", [1]), job("mail", [2])] }] },
    { type: "filterStart" },
    { type: "filterType", text: "re" },
    { type: "filterType", text: "s" },
  );
  assert.equal(s.filter, "res");
  assert.deepEqual(queueRows(s).map((r) => r.function), ["resize"]);
  assert.deepEqual(processItems(s).map((i) => i.job.name), ["resize", "resize"]);
  s = reduce(s, { type: "filterBackspace" });
  assert.equal(s.filter, "re");
  assert.equal(reduce(s, { type: "filterEnd", keep: false }).filter, "");
  const kept = reduce(s, { type: "filterEnd", keep: true });
  assert.equal(kept.filter, "re");
  assert.equal(kept.editingFilter, false);
});

test("moving stays inside the panel's rows, per panel; Tab cycles panels both ways", () => {
  let s = run(base(), { type: "servers", now: T, servers: [server("a:1", [{ function: "a" }, { function: "b" }, { function: "c" }])] }, {
    type: "drivers",
    now: T,
    drivers: [{ address: "d:1", up: true, at: T, jobs: [job("a", [11, 12])] }],
  });
  s = run(s, { type: "move", delta: 1 }, { type: "move", delta: 5 });
  assert.equal(s.selected.queues, 2);
  assert.equal(selectedFunction(s), "c");
  s = run(s, { type: "move", delta: -10 });
  assert.equal(s.selected.queues, 0);
  s = run(s, { type: "panel", step: 1 }, { type: "move", delta: 2 });
  assert.equal(s.panel, "processes");
  assert.equal(s.selected.processes, 2);
  const item = selectedProcessItem(s)!;
  assert.equal(item.kind, "process");
  assert.equal(item.kind === "process" && item.process.pid, 12);
  assert.equal(run(s, { type: "panel", step: 1 }).panel, "events");
  assert.equal(run(s, { type: "panel", step: 1 }, { type: "panel", step: 1 }).panel, "queues");
  assert.equal(run(s, { type: "panel", step: -1 }).panel, "queues");
});

test("a selection past the end is pulled back when rows disappear", () => {
  let s = run(base(), { type: "servers", now: T, servers: [server("a:1", [{ function: "a" }, { function: "b" }, { function: "c" }])] }, {
    type: "move",
    delta: 2,
  });
  s = reduce(s, { type: "servers", now: T, servers: [server("a:1", [{ function: "a" }])] });
  assert.equal(s.selected.queues, 0);
});

test("events append in order and keep the last 200", () => {
  let s = base();
  for (let i = 1; i <= 250; i++) {
    s = reduce(s, { type: "events", driver: "d:1", events: [{ seq: i, at: T, job: "j", kind: "start", text: `e${i}` }] });
  }
  assert.equal(s.events.length, 200);
  assert.equal(s.events[0]!.text, "e51");
  assert.equal(s.events.at(-1)!.driver, "d:1");
  assert.equal(reduce(s, { type: "events", driver: "d:1", events: [] }), s, "no new events, same state");
});

test("help, detail, status, resize and staleness", () => {
  let s = run(base(), { type: "help" });
  assert.equal(s.help, true);
  s = run(s, { type: "help" }, { type: "toggleDetail" }, { type: "status", text: "done", error: false, now: T }, {
    type: "resize",
    width: 80,
    height: 24,
  });
  assert.deepEqual([s.help, s.showDetail, s.status?.text, s.width, s.height], [false, true, "done", 80, 24]);
  assert.equal(stale(s, T), false);
  assert.equal(stale(reduce(s, { type: "tick", now: T + 3001 }), T), true);
});

const node = nodeRow;

test("nodes: every node any live server lists, once, aged from when nodes was read to now, with the totals of the watched server at its address", () => {
  const cluster = [node("n-b", "b:1", "live", 2), node("n-a", "a:1", "dead", 7, 30_000), node("n-c", "c:1", "adopted:n-b")];
  const s = run(base(), {
    type: "servers",
    now: T + 2000,
    servers: [
      server("a:1", [{ function: "f", queued: 3, running: 1, workers: 2 }, { function: "g", queued: 4 }], {
        at: T,
        nodesAt: T - 1000,
        nodes: cluster,
      }),
      server("b:1", [{ function: "f", queued: 5, workers: 1 }], { at: T + 2000, nodes: [...cluster].reverse() }),
      server("z:1", [], { up: false, error: "ECONNREFUSED", nodes: [node("gone", "z:1")] }),
    ],
  });
  assert.deepEqual(nodeRows(s)!.map((n) => [n.node, n.state, n.heartbeatAgeMs, n.jobs, n.totals]), [
    ["n-a", "dead", 33_000, 7, { queued: 7, running: 1, workers: 2 }],
    ["n-b", "live", 4000, 2, { queued: 5, running: 0, workers: 1 }],
    ["n-c", "adopted:n-b", 4000, 0, undefined],
  ]);
  assert.deepEqual(serverTotals(s).get("a:1"), { queued: 7, running: 1, workers: 2 });
  assert.equal(serverTotals(s).has("z:1"), false, "a down server has no totals");
});

test("nodes: hidden without a server that knows nodes (gearmand), and for one server listing only itself", () => {
  const plain = run(base(), {
    type: "servers",
    now: T,
    servers: [server("a:1", [], { gearbox: false }), server("b:1", [], { gearbox: false })],
  });
  assert.equal(nodeRows(plain), undefined);
  const alone = run(base(), { type: "servers", now: T, servers: [server("a:1", [], { nodes: [node("a", "a:1")] })] });
  assert.equal(nodeRows(alone), undefined);
  const two = run(base(), {
    type: "servers",
    now: T,
    servers: [server("a:1", [], { nodes: [node("", "a:1")] }), server("b:1", [], { nodes: [node("", "b:1")] })],
  });
  assert.deepEqual(nodeRows(two)!.map((n) => n.address), ["a:1", "b:1"], "two unshared servers: one node each, kept apart by address");
});
