/**
 * The core's side of a cluster (docs/cluster.md): a node allocates ids in its
 * own range, after the largest of the range still stored, whatever ids other
 * nodes' jobs carry; adopted jobs keep their ids and handles, are scheduled
 * and wake sleeping workers, and get a "node lost" entry only where they may
 * have been running; `job purge` takes adopted jobs for older ones.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { StoredJob } from "../../src/core/job.ts";
import { CoreSession, T0 } from "../helpers/core_session.ts";

const C = 1, W = 11;
const RANGE = 2 ** 40;

function stored(id: number, over: Partial<StoredJob> = {}): StoredJob {
  return {
    id,
    handle: `H:dead.boot:${id}`,
    function: "f",
    unique: "",
    data: new TextEncoder().encode(`job ${id}`),
    reducer: "",
    priority: 1,
    runAt: 0,
    createdAt: T0 - 1000,
    retries: 0,
    failures: [],
    ended: undefined,
    ...over,
  };
}

describe("core session: a cluster node's ids and adopted jobs", () => {
  test("ids are allocated in the node's range after the largest still stored, and another range's replayed ids do not move them", () => {
    const s = new CoreSession().open(C);
    s.core.useIds(3 * RANGE, RANGE, 3 * RANGE + 41);
    s.restore([stored(7 * RANGE + 5), stored(3 * RANGE + 9)]);
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "g", "", "x"), `H:t:${3 * RANGE + 42}`);
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "g", "", "y"), `H:t:${3 * RANGE + 43}`);
  });

  test("an adopted job keeps its id and handle (16 digits), wakes a sleeping worker and is served by that handle", () => {
    const s = new CoreSession().open(C, W);
    s.core.useIds(RANGE, RANGE, RANGE);
    s.sleeper(W, "f");
    const id = 8000 * RANGE + 1; // a 16-digit id, near the top of the ids a number can hold
    assert.equal(s.core.adopt([stored(id)], "dead", s.now), 1);
    s.pump();
    assert.deepEqual(s.take(W), ["NOOP"]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), [`JOB_ASSIGN H:dead.boot:${id}\0f\0job ${id}`]);
    s.send(C, "GET_STATUS", `H:dead.boot:${id}`);
    assert.deepEqual(s.take(C), [`STATUS_RES H:dead.boot:${id}\x001\x001\x000\x000`]);
    assert.equal(s.core.view.counters.get("adopted"), 1);
  });

  test("only a job that was runnable gets a 'node lost' entry, written back; a scheduled one and an ended one do not, and a twin id is skipped", () => {
    const s = new CoreSession().open(C);
    const ended = { outcome: "failed" as const, exitStatus: 3, at: T0 - 10, deleteAfter: T0 + 60_000 };
    const n = s.core.adopt([stored(1), stored(2, { runAt: T0 + 60_000 }), stored(3, { ended }), stored(1)], "gone", s.now);
    assert.equal(n, 3, "the repeated id is not entered twice");
    s.pump();
    const updates = s.takeEffects("update");
    assert.deepEqual(updates.map((u) => u.job.id), [1]);
    assert.deepEqual(updates[0]!.job.failures, [{
      at: s.now,
      message: "node lost: node gone stopped heartbeating; adopted (it may have been running there)",
    }]);
    assert.equal(updates[0]!.job.retries, 0, "not charged as a failed attempt");
    assert.match(s.admin(C, "job list function=f state=failed"), /H:dead\.boot:3/);
  });

  test("job purge drops waiting adopted jobs whose ids are above this node's range, and keeps jobs submitted after it began", () => {
    const s = new CoreSession({ adminSlice: 1 }).open(C, C + 1);
    s.core.useIds(RANGE, RANGE, RANGE);
    s.submit(C, "SUBMIT_JOB_BG", "f", "", "mine");
    s.core.adopt([stored(5 * RANGE + 1), stored(5 * RANGE + 2)], "gone", s.now);
    s.pump();
    s.raw(C, "job purge f\r\n");
    const later = s.submit(C + 1, "SUBMIT_JOB_BG", "f", "", "later");
    while (s.continueBulk());
    assert.deepEqual(s.take(C), ["TEXT OK 3\n"]);
    assert.deepEqual([...s.core.view.jobs.values()].map((j) => j.handle), [later]);
  });
});
