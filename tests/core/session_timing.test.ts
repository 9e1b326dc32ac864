import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CoreSession, T0 } from "../helpers/core_session.ts";

const C = 1, W = 11, W2 = 12, W3 = 13;
const SEC = T0 / 1000;

describe("core session: CAN_DO_TIMEOUT", () => {
  test("each assignment has its own deadline: two jobs grabbed at different times expire separately", () => {
    const s = new CoreSession().open(C, W, W2);
    s.send(W, "CAN_DO_TIMEOUT", "f", "1000");
    s.send(C, "SUBMIT_JOB", "f", "", "j1");
    s.send(C, "SUBMIT_JOB", "f", "", "j2");
    s.take(C);
    s.send(W, "GRAB_JOB");
    s.advance(500);
    s.send(W, "GRAB_JOB");
    assert.equal(s.take(W).length, 2);
    assert.equal(s.core.nextDeadline(), T0 + 1000);
    s.sleeper(W2, "f");
    s.advance(499);
    assert.equal(s.status(), "f\t2\t2\t2\n.\n");
    s.advance(1); // T0 + 1000: only j1 expires
    assert.equal(s.status(), "f\t2\t1\t2\n.\n");
    assert.deepEqual(s.take(W2), ["NOOP"]);
    assert.deepEqual(s.take(C), [], "the client sees nothing of the requeue");
    s.send(W, "WORK_COMPLETE", "H:t:1", "late");
    assert.deepEqual(s.take(W), ["ERROR JOB_NOT_FOUND\0Job given in work result not found"]);
    s.send(W2, "GRAB_JOB");
    assert.deepEqual(s.take(W2), ["JOB_ASSIGN H:t:1\0f\0j1"]);
    assert.equal(s.core.nextDeadline(), T0 + 1500);
    s.advance(499);
    assert.equal(s.status(), "f\t2\t2\t2\n.\n");
    s.advance(1); // T0 + 1500: j2 expires
    assert.equal(s.status(), "f\t2\t1\t2\n.\n");
    s.send(W2, "WORK_COMPLETE", "H:t:1", "ok");
    assert.deepEqual(s.take(C), ["WORK_COMPLETE H:t:1\0ok"]);
    assert.equal(s.admin(C, "show jobs"), "H:t:2\t1\t0\t0\n.\n");
  });

  test("values 1..999 are raised to 1000 ms", () => {
    for (const value of ["1", "10", "999"]) {
      const s = new CoreSession().open(C, W);
      s.send(W, "CAN_DO_TIMEOUT", "f", value);
      assert.deepEqual(s.take(W), [], value);
      s.send(C, "SUBMIT_JOB", "f", "", "x");
      s.send(W, "GRAB_JOB");
      s.take(W);
      s.advance(999);
      assert.equal(s.status(), "f\t1\t1\t1\n.\n", `${value}: still running at 999 ms`);
      s.advance(1);
      assert.equal(s.status(), "f\t1\t0\t1\n.\n", `${value}: requeued at 1000 ms`);
    }
  });

  test("a timeout of 0 means no limit but still registers the function", () => {
    const s = new CoreSession().open(C, W);
    s.send(W, "CAN_DO_TIMEOUT", "f", "0");
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    s.send(W, "GRAB_JOB");
    assert.equal(s.take(W).length, 1);
    assert.equal(s.core.nextDeadline(), undefined);
  });

  test("a garbage timeout is rejected with ERROR INVALID_ARGUMENT", () => {
    const s = new CoreSession().open(W);
    for (const value of ["abc", "", "10s", "1.5"]) s.send(W, "CAN_DO_TIMEOUT", "f", value);
    assert.deepEqual(s.take(W), Array(4).fill("ERROR INVALID_ARGUMENT\0CAN_DO_TIMEOUT needs a timeout in milliseconds"));
  });

  test("a worker's late results after a timeout requeue do not reach the client", () => {
    const s = new CoreSession().open(C, W);
    s.send(W, "CAN_DO_TIMEOUT", "f", "2000");
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    s.send(W, "GRAB_JOB");
    s.advance(2000);
    s.send(W, "WORK_DATA", "H:t:1", "stale");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0x", "ERROR JOB_NOT_FOUND\0Job does not exist on server"]);
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1"]);
  });
});

describe("core session: SUBMIT_JOB_EPOCH", () => {
  test("a future epoch job is counted as queued, skipped until due, and wakes a sleeper exactly at due time", () => {
    const s = new CoreSession().open(C, W);
    const due = (SEC + 3) * 1000;
    assert.equal(s.submit(C, "SUBMIT_JOB_EPOCH", "f", "e1", String(SEC + 3), "later"), "H:t:1");
    const [persist] = s.takeEffects("persist");
    assert.equal(persist?.job.runAt, due, "stored with its time");
    assert.equal(s.status(), "f\t1\t0\t0\n.\n");
    assert.equal(s.admin(C, "prioritystatus"), "f\t0\t1\t0\t0\n.\n");
    assert.equal(s.admin(C, "show jobs"), "H:t:1\t0\t0\t1\n.\n");
    s.send(C, "GET_STATUS", "H:t:1");
    assert.deepEqual(s.take(C), ["STATUS_RES H:t:1\x001\x000\x000\x000"]);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    s.send(W, "PRE_SLEEP");
    assert.deepEqual(s.take(W), [], "nothing runnable yet: the worker sleeps");
    assert.equal(s.core.nextDeadline(), due);
    s.advanceTo(due - 1);
    assert.deepEqual(s.take(W), []);
    s.advanceTo(due);
    assert.deepEqual(s.take(W), ["NOOP"]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0later"]);
  });

  test("a past epoch runs at once", () => {
    const s = new CoreSession().open(C, W);
    s.sleeper(W, "f");
    assert.equal(s.submit(C, "SUBMIT_JOB_EPOCH", "f", "", String(SEC - 100), "past"), "H:t:1");
    assert.deepEqual(s.take(W), ["NOOP"]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0past"]);
    assert.equal(s.takeEffects("persist")[0]?.job.runAt, 0);
  });

  test("a non-numeric epoch is refused with ERROR INVALID_ARGUMENT", () => {
    const s = new CoreSession().open(C);
    for (const epoch of ["soon", "", "1.5e9"]) s.send(C, "SUBMIT_JOB_EPOCH", "f", "", epoch, "x");
    assert.deepEqual(s.take(C), Array(3).fill("ERROR INVALID_ARGUMENT\0Epoch must be a Unix time in seconds"));
    assert.equal(s.status(), ".\n", "no job, no function record");
  });

  test("an epoch beyond maxEpochAheadMs is refused", () => {
    const s = new CoreSession({ maxEpochAheadMs: 60_000 }).open(C);
    s.send(C, "SUBMIT_JOB_EPOCH", "f", "", String(SEC + 61), "x");
    s.send(C, "SUBMIT_JOB_EPOCH", "f", "", String(SEC + 60), "x");
    assert.deepEqual(s.take(C), ["ERROR INVALID_ARGUMENT\0Epoch too far in the future", "JOB_CREATED H:t:1"]);
  });

  test("a due LOW job behind a future NORMAL job is assigned (no gearmand starvation)", () => {
    const s = new CoreSession().open(C, W);
    s.submit(C, "SUBMIT_JOB_EPOCH", "f", "", String(SEC + 60), "future-normal");
    s.submit(C, "SUBMIT_JOB_LOW_BG", "f", "", "due-low");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:2\0f\0due-low", "NO_JOB"]);
    s.send(W, "PRE_SLEEP");
    assert.deepEqual(s.take(W), [], "no NOOP spin for the future job");
  });

  test("a cancelled scheduled job never fires", () => {
    const s = new CoreSession().open(C, W);
    s.submit(C, "SUBMIT_JOB_EPOCH", "f", "", String(SEC + 5), "x");
    s.sleeper(W, "f");
    assert.equal(s.admin(C, "cancel job H:t:1"), "OK\r\n");
    assert.equal(s.admin(C, "prioritystatus"), "f\t0\t0\t0\t1\n.\n");
    s.advance(5000);
    assert.deepEqual(s.take(W), []);
    assert.equal(s.status(), "f\t0\t0\t1\n.\n");
  });
});

describe("core session: waking workers", () => {
  test("with wakeup=1 each job wakes one worker, rotating, and nobody twice before a grab", () => {
    const s = new CoreSession({ wakeup: 1, wakeupDelayMs: -1 }).open(C, W, W2, W3);
    for (const w of [W, W2, W3]) s.sleeper(w, "f");
    const woken: string[] = [];
    for (let i = 0; i < 4; i++) {
      s.send(C, "SUBMIT_JOB_BG", "f", "", `j${i}`);
      woken.push([W, W2, W3].filter((w) => s.take(w).length > 0).join(","));
    }
    assert.deepEqual(woken, [`${W}`, `${W2}`, `${W3}`, ""]);
  });

  test("wakeup_delay wakes another worker after the delay if the job still waits", () => {
    const s = new CoreSession({ wakeup: 1, wakeupDelayMs: 100 }).open(C, W, W2);
    s.sleeper(W, "f");
    s.sleeper(W2, "f");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    assert.deepEqual([s.take(W), s.take(W2)], [["NOOP"], []]);
    assert.equal(s.core.nextDeadline(), T0 + 100);
    s.advance(99);
    assert.deepEqual(s.take(W2), []);
    s.advance(1);
    assert.deepEqual(s.take(W2), ["NOOP"]);
    assert.deepEqual(s.take(W), [], "the first worker is not woken twice");
  });

  test("wakeup_delay wakes nobody when the job was taken in the meantime", () => {
    const s = new CoreSession({ wakeup: 1, wakeupDelayMs: 100 }).open(C, W, W2);
    s.sleeper(W, "f");
    s.sleeper(W2, "f");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NOOP", "JOB_ASSIGN H:t:1\0f\0x"]);
    s.advance(100);
    assert.deepEqual(s.take(W2), []);
  });

  test("by default every sleeping worker gets one NOOP and only one of them gets the job", () => {
    const s = new CoreSession().open(C, W, W2, W3);
    for (const w of [W, W2, W3]) s.sleeper(w, "f");
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    for (const w of [W, W2, W3]) assert.deepEqual(s.take(w), ["NOOP"]);
    for (const w of [W2, W, W3]) s.send(w, "GRAB_JOB");
    assert.deepEqual([s.take(W), s.take(W2), s.take(W3)], [["NO_JOB"], ["JOB_ASSIGN H:t:1\0f\0x"], ["NO_JOB"]]);
  });

  test("PRE_SLEEP with work available is answered with NOOP at once, every time", () => {
    const s = new CoreSession().open(C, W);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.canDo(W, "f");
    s.send(W, "PRE_SLEEP");
    s.send(W, "PRE_SLEEP");
    assert.deepEqual(s.take(W), ["NOOP", "NOOP"]);
  });

  test("a sleeping worker gets at most one NOOP until it grabs", () => {
    const s = new CoreSession().open(C, W);
    s.sleeper(W, "f");
    for (let i = 0; i < 3; i++) s.send(C, "SUBMIT_JOB_BG", "f", "", `j${i}`);
    assert.deepEqual(s.take(W), ["NOOP"]);
    s.send(W, "GRAB_JOB");
    s.send(W, "PRE_SLEEP");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0j0", "NOOP"], "more work waits: NOOP at once");
  });

  test("a worker that got NO_JOB but did not PRE_SLEEP is not woken, nor one of another function", () => {
    const s = new CoreSession().open(C, W, W2);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.sleeper(W2, "g");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    assert.deepEqual([s.take(W), s.take(W2)], [["NO_JOB"], []]);
  });

  test("a closing worker does not use up the wake-up of a job it held", () => {
    const s = new CoreSession({ wakeup: 1, wakeupDelayMs: -1 }).open(C, W, W2);
    s.canDo(W, "f");
    s.canDo(W2, "f");
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    s.send(W, "GRAB_JOB");
    s.send(W, "PRE_SLEEP"); // holding a job and sleeping: nothing else to do
    s.send(W2, "PRE_SLEEP");
    s.close(W);
    assert.deepEqual(s.take(W2), ["NOOP"], "the requeued job must wake the sleeping worker");
  });
});
