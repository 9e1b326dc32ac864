/**
 * The core's side of cluster-wide uniques (docs/cluster.md §7): when the
 * store says a new job's unique is already live as another node's job H,
 * every submitter waiting on it gets H and the job is dropped without a
 * store row; foreground clients coalesced onto it keep it here; a WORK_REPLACE
 * job coalesced so is reported as H; a `job retry` the store refused goes
 * back to the dead set. An adopted job may meet only a foreground job of
 * the adopter (the index keeps stored rows apart): both run.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CoreSession, T0 } from "../helpers/core_session.ts";

const C = 1, D = 2, W = 11, A = 99;
const H = "H:other.boot:7";

function held(): CoreSession {
  const s = new CoreSession().open(C, D, W);
  s.autoAck = false;
  return s;
}

describe("core session: uniques coalesced by the cluster's store", () => {
  test("every background submitter waiting on the job gets the other node's handle, and the job is dropped without a store row", () => {
    const s = held();
    s.send(C, "SUBMIT_JOB_BG", "f", "u1", "a");
    s.send(D, "SUBMIT_JOB_BG", "f", "u1", "b");
    const [id] = s.held.splice(0);
    assert.deepEqual(s.take(C), [], "nothing before the store answered");
    s.core.persisted([id!], undefined, s.now, new Map([[id!, H]]));
    s.pump();
    assert.deepEqual(s.take(C), [`JOB_CREATED ${H}`]);
    assert.deepEqual(s.take(D), [`JOB_CREATED ${H}`]);
    assert.equal(s.core.view.jobs.size, 0);
    assert.equal(s.core.view.counters.get("coalesced_cluster"), 1);
    assert.deepEqual(s.takeEffects("forget"), []);
    s.sleeper(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"], "no worker ever sees it");
    s.send(C, "SUBMIT_JOB_BG", "f", "u1", "c");
    assert.equal(s.held.length, 1, "a later submission asks the store again");
  });

  test("a foreground client coalesced onto the job meanwhile keeps it here, unstored, and every submitter gets its handle", () => {
    const s = held();
    s.send(C, "SUBMIT_JOB_BG", "f", "u2", "a");
    s.send(D, "SUBMIT_JOB", "f", "u2", "a");
    const [id] = s.held.splice(0);
    s.core.persisted([id!], undefined, s.now, new Map([[id!, H]]));
    s.pump();
    const mine = `H:t:${id}`;
    assert.deepEqual(s.take(C), [`JOB_CREATED ${mine}`]);
    assert.deepEqual(s.take(D), [`JOB_CREATED ${mine}`]);
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), [`JOB_ASSIGN ${mine}\0f\0a`]);
    s.send(W, "WORK_COMPLETE", mine, "done");
    assert.deepEqual(s.take(D), [`WORK_COMPLETE ${mine}\0done`]);
    assert.deepEqual(s.takeEffects("forget"), [], "it had no store row");
  });

  test("a WORK_REPLACE job the store coalesced is answered with the other node's handle beside the new ones", () => {
    const s = new CoreSession().open(C, W);
    s.submit(C, "SUBMIT_JOB_BG", "f", "", "old");
    s.send(W, "OPTION_REQ", "reliable");
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    const old = s.packets(W)[1]!.args[0]!;
    s.autoAck = false;
    const sub = (unique: string, data: string) => {
      const body = Buffer.from(`f\0${unique}\0${data}`, "latin1");
      const head = Buffer.alloc(12);
      head.write("\0REQ", 0, "latin1");
      head.writeUInt32BE(18, 4);
      head.writeUInt32BE(body.length, 8);
      return Buffer.concat([head, body]).toString("latin1");
    };
    s.send(W, "WORK_REPLACE", old, sub("r1", "x") + sub("r2", "y"));
    const ids = s.takeEffects("replace")[0]!.add.map((j) => j.id);
    assert.equal(ids.length, 2);
    s.core.persisted(ids, undefined, s.now, new Map([[ids[0]!, H]]));
    s.pump();
    assert.deepEqual(s.take(W), [`WORK_REPLACED ${old}\0${H} H:t:${ids[1]}`]);
    assert.equal(s.core.view.jobs.size, 1, "only the job that was added");
  });

  test("a job retry the store left ended goes back to the dead set with a failure-log entry naming the live job", () => {
    const ended = { outcome: "failed" as const, exitStatus: 2, at: T0 - 10, deleteAfter: T0 + 60_000 };
    const s = new CoreSession().open(C);
    s.restore([{
      id: 5,
      handle: "H:t:5",
      function: "f",
      unique: "r",
      data: new Uint8Array([1]),
      reducer: "",
      priority: 1,
      runAt: 0,
      createdAt: T0 - 100,
      retries: 3,
      failures: [],
      ended,
    }]);
    assert.equal(s.admin(A, "job retry H:t:5"), "OK 1\n");
    s.takeEffects("update");
    s.core.persisted([], undefined, s.now, new Map([[5, H]]));
    s.pump();
    assert.match(s.admin(A, "job list state=failed"), /^H:t:5\tf\tfailed/);
    const [update] = s.takeEffects("update");
    assert.equal(update!.job.ended?.outcome, "failed");
    assert.deepEqual(update!.job.failures.map((f) => f.message), [`retry refused: unique is live as ${H}`]);
    assert.equal(s.core.view.counters.get("retry_refused"), 1);
  });

  test("an adopted job whose unique a foreground job of the adopter holds is entered beside it, and both run", () => {
    const s = new CoreSession().open(C, W);
    const mine = s.submit(C, "SUBMIT_JOB", "f", "same", "fg");
    const id = 9 * 2 ** 40 + 1;
    const adopted = {
      id,
      handle: `H:dead.boot:${id}`,
      function: "f",
      unique: "same",
      data: new Uint8Array([98, 103]),
      reducer: "",
      priority: 1,
      runAt: T0 + 10,
      createdAt: T0 - 100,
      retries: 0,
      failures: [],
      ended: undefined,
    };
    assert.equal(s.core.adopt([adopted], "dead", s.now), 1);
    s.advance(10);
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), [`JOB_ASSIGN ${mine}\0f\0fg`, `JOB_ASSIGN H:dead.boot:${id}\0f\0bg`]);
  });
});
