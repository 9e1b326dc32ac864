import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CoreSession } from "../helpers/core_session.ts";

const C = 1, C2 = 2, C3 = 3, W = 11, W2 = 12, W3 = 13;

describe("core session: a job's life", () => {
  test("a foreground job goes from client to sleeping worker and its result comes back", () => {
    const s = new CoreSession().open(C, W);
    s.canDo(W, "rev");
    s.send(W, "GRAB_JOB_ALL");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    s.send(W, "PRE_SLEEP");
    assert.deepEqual(s.take(W), []);
    s.send(C, "SUBMIT_JOB", "rev", "u-1", "hello");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1"]);
    assert.deepEqual(s.take(W), ["NOOP"]);
    assert.equal(s.status(), "rev\t1\t0\t1\n.\n");
    s.send(W, "GRAB_JOB_ALL");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN_UNIQ H:t:1\0rev\0u-1\0hello"]);
    assert.equal(s.status(), "rev\t1\t1\t1\n.\n");
    s.send(W, "WORK_COMPLETE", "H:t:1", "olleh");
    assert.deepEqual(s.take(W), []);
    assert.deepEqual(s.take(C), ["WORK_COMPLETE H:t:1\0olleh"]);
    assert.equal(s.status(), "rev\t0\t0\t1\n.\n");
    s.send(C, "GET_STATUS", "H:t:1");
    assert.deepEqual(s.take(C), ["STATUS_RES H:t:1\x000\x000\x000\x000"]);
    assert.deepEqual(s.takeEffects("persist"), [], "foreground jobs are never persisted");
    assert.deepEqual(s.takeEffects("forget"), []);
  });

  test("GRAB_JOB gets JOB_ASSIGN and GRAB_JOB_ALL gets JOB_ASSIGN_ALL for a reduce job", () => {
    const s = new CoreSession().open(C, W);
    s.canDo(W, "f");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "plain");
    s.send(C, "SUBMIT_REDUCE_JOB_BACKGROUND", "f", "u2", "myreducer", "agg", "data");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", "JOB_CREATED H:t:2"]);
    s.send(W, "GRAB_JOB");
    s.send(W, "GRAB_JOB_ALL");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0plain", "JOB_ASSIGN_ALL H:t:2\0f\0u2\0myreducer\0data"]);
  });

  test("a background JOB_CREATED is held until the store commits, and a pipelined ECHO_REQ waits behind it", () => {
    const s = new CoreSession().open(C, W);
    s.autoAck = false;
    s.sleeper(W, "f");
    s.raw(
      C,
      Buffer.concat([
        Buffer.from("\0REQ\0\0\0\x12\0\0\0\x05f\0u\0x", "latin1"),
        Buffer.from("\0REQ\0\0\0\x10\0\0\0\x05after", "latin1"),
      ]),
    );
    assert.deepEqual(s.take(C), []);
    assert.deepEqual(s.take(W), [], "no NOOP before the commit");
    const [persist] = s.takeEffects("persist");
    assert.ok(persist);
    assert.deepEqual(
      [
        persist.job.id,
        persist.job.handle,
        persist.job.function,
        persist.job.unique,
        Buffer.from(persist.job.data!).toString(),
        persist.job.runAt,
      ],
      [1, "H:t:1", "f", "u", "x", 0],
    );
    assert.deepEqual(s.held, [1]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"], "a job being committed is not offered");
    s.send(W, "PRE_SLEEP");
    s.ack();
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", "ECHO_RES after"]);
    assert.deepEqual(s.take(W), ["NOOP"]);
  });

  test("a second submitter of a job still being committed waits for the same commit", () => {
    const s = new CoreSession().open(C, C2);
    s.autoAck = false;
    s.send(C, "SUBMIT_JOB_BG", "f", "u", "x");
    s.send(C2, "SUBMIT_JOB_BG", "f", "u", "x");
    s.send(C2, "ECHO_REQ", "e");
    assert.deepEqual([s.take(C), s.take(C2), s.held], [[], [], [1]]);
    s.ack();
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1"]);
    assert.deepEqual(s.take(C2), ["JOB_CREATED H:t:1", "ECHO_RES e"]);
  });

  test("a store failure answers ERROR QUEUE_ERROR to every submitter and the job never runs", () => {
    const s = new CoreSession().open(C, C2, W);
    s.autoAck = false;
    s.sleeper(W, "f");
    s.send(C, "SUBMIT_JOB_BG", "f", "u", "x");
    s.send(C2, "SUBMIT_JOB", "f", "u", "x"); // a foreground client coalescing on it
    s.send(C, "ECHO_REQ", "next");
    s.ack("disk full");
    assert.deepEqual(s.take(C), ["ERROR QUEUE_ERROR\0disk full", "ECHO_RES next"]);
    assert.deepEqual(s.take(C2), ["ERROR QUEUE_ERROR\0disk full"]);
    assert.deepEqual(s.take(W), []);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    assert.equal(s.status(), "f\t0\t0\t1\n.\n");
    s.send(C, "GET_STATUS", "H:t:1");
    assert.deepEqual(s.take(C), ["STATUS_RES H:t:1\x000\x000\x000\x000"]);
    assert.deepEqual(s.takeEffects("forget"), [], "nothing was stored, nothing to forget");
    s.autoAck = true;
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "f", "u", "x"), "H:t:2", "the unique is free again");
  });

  test("coalesced listeners all receive WORK_STATUS, DATA, WARNING and COMPLETE", () => {
    const s = new CoreSession().open(C, C2, C3, W);
    s.sleeper(W, "f");
    for (const c of [C, C2]) assert.equal(s.submit(c, "SUBMIT_JOB", "f", "same", `data-${c}`), "H:t:1");
    assert.deepEqual(s.take(W), ["NOOP"]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0data-1"]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    assert.equal(s.submit(C3, "SUBMIT_JOB_HIGH", "f", "same", "late"), "H:t:1", "joins the running job");
    s.send(C3, "GET_STATUS_UNIQUE", "same");
    assert.deepEqual(s.take(C3), ["STATUS_RES_UNIQUE same\x001\x001\x000\x000\x003"]);
    s.send(W, "WORK_STATUS", "H:t:1", "1", "4");
    s.send(W, "WORK_DATA", "H:t:1", "d1\0x");
    s.send(W, "WORK_WARNING", "H:t:1", "warn");
    s.send(W, "WORK_COMPLETE", "H:t:1", "result\0bin");
    for (const c of [C, C2, C3]) {
      assert.deepEqual(s.take(c), [
        "WORK_STATUS H:t:1\x001\x004",
        "WORK_DATA H:t:1\0d1\0x",
        "WORK_WARNING H:t:1\0warn",
        "WORK_COMPLETE H:t:1\0result\0bin",
      ], `listener ${c}`);
    }
    assert.deepEqual(s.take(W), []);
    assert.equal(s.submit(C, "SUBMIT_JOB", "f", "same", "again"), "H:t:2", "a finished job frees its unique");
  });

  test("a background resubmission and a foreground one coalesce onto a queued background job", () => {
    const s = new CoreSession().open(C, C2, W);
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "f", "bgu", "x"), "H:t:1");
    assert.equal(s.submit(C, "SUBMIT_JOB_HIGH_BG", "f", "bgu", "y"), "H:t:1");
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "g", "bgu", "x"), "H:t:2", "another function is another key");
    assert.equal(s.submit(C2, "SUBMIT_JOB", "f", "bgu", "z"), "H:t:1");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0x"], "first submission's data, normal priority");
    s.send(W, "WORK_COMPLETE", "H:t:1", "done");
    assert.deepEqual(s.take(C2), ["WORK_COMPLETE H:t:1\0done"]);
    assert.deepEqual(s.take(C), []);
    assert.deepEqual(s.takeEffects("forget").map((e) => e.id), [1]);
  });

  test("the '-' unique coalesces on identical data only", () => {
    const s = new CoreSession().open(C);
    const a = s.submit(C, "SUBMIT_JOB_BG", "f", "-", "samedata");
    const b = s.submit(C, "SUBMIT_JOB_BG", "f", "-", "samedata");
    const c = s.submit(C, "SUBMIT_JOB_BG", "f", "-", "otherdata");
    const d = s.submit(C, "SUBMIT_JOB_BG", "g", "-", "samedata");
    assert.deepEqual([a, b, c, d], ["H:t:1", "H:t:1", "H:t:2", "H:t:3"]);
    assert.equal(s.admin(C, "show unique jobs"), "-\n-\n-\n.\n", "the stored unique stays '-'");
  });

  test("an empty unique never coalesces", () => {
    const s = new CoreSession().open(C);
    const handles = [1, 2, 3].map(() => s.submit(C, "SUBMIT_JOB_BG", "f", "", "x"));
    assert.deepEqual(handles, ["H:t:1", "H:t:2", "H:t:3"]);
    assert.equal(s.status(), "f\t3\t0\t0\n.\n");
    s.send(C, "GET_STATUS_UNIQUE", "");
    assert.deepEqual(s.take(C), ["STATUS_RES_UNIQUE \x000\x000\x000\x000\x000"]);
  });

  test("HIGH jobs of any function come first, then NORMAL, then LOW (gearmand 2.0 rule)", () => {
    const s = new CoreSession().open(C, W);
    s.send(C, "SUBMIT_JOB_LOW_BG", "a", "", "a-low");
    s.send(C, "SUBMIT_JOB_HIGH_BG", "b", "", "b-high");
    s.send(C, "SUBMIT_JOB_BG", "c", "", "c-normal");
    s.canDo(W, "a", "b", "c");
    for (let i = 0; i < 4; i++) s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:2\0b\0b-high", "JOB_ASSIGN H:t:3\0c\0c-normal", "JOB_ASSIGN H:t:1\0a\0a-low", "NO_JOB"]);
  });

  test("jobs of one priority run in submission order", () => {
    const s = new CoreSession().open(C, W);
    const order = [["LOW", "l1"], ["", "n1"], ["HIGH", "h1"], ["LOW", "l2"], ["", "n2"], ["HIGH", "h2"]];
    for (const [p, d] of order) s.send(C, p ? `SUBMIT_JOB_${p}_BG` : "SUBMIT_JOB_BG", "f", d!, d!);
    s.canDo(W, "f");
    for (let i = 0; i < 7; i++) s.send(W, "GRAB_JOB_UNIQ");
    assert.deepEqual(s.take(W).map((p) => p.split("\0")[2] ?? p), ["h1", "h2", "n1", "n2", "l1", "l2", "NO_JOB"]);
  });

  test("a job whose worker closes goes to the tail of its queue and keeps its listeners", () => {
    const s = new CoreSession().open(C, W, W2);
    for (const d of ["j1", "j2", "j3"]) s.send(C, "SUBMIT_JOB", "f", "", d);
    s.take(C);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "WORK_STATUS", "H:t:1", "5", "10");
    s.take(C);
    s.sleeper(W2, "f");
    s.take(W2); // jobs are waiting: PRE_SLEEP answered NOOP at once
    s.close(W);
    assert.deepEqual(s.take(C), [], "the client is not told about the requeue");
    s.send(C, "GET_STATUS", "H:t:1");
    assert.deepEqual(s.take(C), ["STATUS_RES H:t:1\x001\x000\x000\x000"]);
    assert.equal(s.admin(C, "show jobs"), "H:t:1\t1\t0\t0\nH:t:2\t0\t0\t0\nH:t:3\t0\t0\t0\n.\n");
    for (let i = 0; i < 3; i++) s.send(W2, "GRAB_JOB");
    assert.deepEqual(s.take(W2).map((p) => p.split("\0")[2]), ["j2", "j3", "j1"]);
    s.send(W2, "WORK_COMPLETE", "H:t:1", "ok");
    assert.deepEqual(s.take(C), ["WORK_COMPLETE H:t:1\0ok"]);
  });

  test("with job_retries=2 the second lost worker fails the job with WORK_FAIL h", () => {
    const s = new CoreSession({ jobRetries: 2 }).open(C);
    s.send(C, "SUBMIT_JOB", "f", "", "fg");
    s.send(C, "SUBMIT_JOB_BG", "g", "", "bg");
    s.take(C);
    for (const w of [W, W2]) {
      s.open(w);
      s.canDo(w, "f", "g");
      s.send(w, "GRAB_JOB");
      s.send(w, "GRAB_JOB");
      assert.equal(s.take(w).length, 2);
      s.close(w);
      assert.deepEqual(s.take(C), w === W ? [] : ["WORK_FAIL H:t:1"]);
    }
    s.open(W3);
    s.canDo(W3, "f", "g");
    s.send(W3, "GRAB_JOB");
    assert.deepEqual(s.take(W3), ["NO_JOB"]);
    assert.equal(s.status(), "f\t0\t0\t1\ng\t0\t0\t1\n.\n");
    assert.deepEqual(s.takeEffects("forget"), [], "the failed background job stays in the store, in the dead set");
    const dead = s.takeEffects("update").at(-1)!.job;
    assert.deepEqual([dead.id, dead.ended?.outcome, dead.ended?.exitStatus], [2, "failed", 1]);
    assert.deepEqual(
      dead.failures.map((f) => f.message),
      ["worker disconnected", "worker disconnected"],
      "one failure log entry per lost worker",
    );
  });
});

describe("core session: clients that leave, and results from the wrong worker", () => {
  test("a queued foreground job is dropped at once when its client leaves", () => {
    const s = new CoreSession().open(C, W);
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    assert.equal(s.status(), "f\t1\t0\t0\n.\n");
    s.close(C);
    assert.equal(s.status(), "f\t0\t0\t0\n.\n");
    s.sleeper(W, "f");
    assert.deepEqual(s.take(W), [], "no NOOP for a dropped job");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
  });

  test("a queued job with another listener left is kept for that listener", () => {
    const s = new CoreSession().open(C, C2, W);
    s.send(C, "SUBMIT_JOB", "f", "u", "x");
    s.send(C2, "SUBMIT_JOB", "f", "u", "x");
    s.close(C);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "WORK_COMPLETE", "H:t:1", "r");
    assert.deepEqual(s.take(C2), ["JOB_CREATED H:t:1", "WORK_COMPLETE H:t:1\0r"]);
  });

  test("a client that submitted the same unique twice and leaves drops the queued job", () => {
    const s = new CoreSession().open(C, W);
    s.send(C, "SUBMIT_JOB", "f", "u", "x");
    s.send(C, "SUBMIT_JOB", "f", "u", "x");
    s.close(C);
    assert.equal(s.status(), "f\t0\t0\t0\n.\n");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
  });

  test("a running job keeps running when its client leaves, and the worker's results get no ERROR", () => {
    const s = new CoreSession().open(C, W);
    s.canDo(W, "f");
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    s.send(W, "GRAB_JOB");
    s.take(W);
    s.close(C);
    assert.equal(s.status(), "f\t1\t1\t1\n.\n");
    s.send(W, "WORK_DATA", "H:t:1", "partial");
    s.send(W, "WORK_STATUS", "H:t:1", "1", "2");
    s.send(W, "WORK_COMPLETE", "H:t:1", "done");
    assert.deepEqual(s.take(W), []);
    assert.equal(s.status(), "f\t0\t0\t1\n.\n");
  });

  test("WORK_EXCEPTION reaches exception listeners as such and others as WORK_FAIL h; a trailing WORK_FAIL is swallowed", () => {
    const s = new CoreSession().open(C, C2, W);
    s.send(C, "OPTION_REQ", "exceptions");
    assert.deepEqual(s.take(C), ["OPTION_RES exceptions"]);
    s.send(C, "SUBMIT_JOB", "f", "u", "x");
    s.send(C2, "SUBMIT_JOB", "f", "u", "x");
    s.take(C);
    s.take(C2);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.take(W);
    s.send(W, "WORK_EXCEPTION", "H:t:1", "boom\0trace");
    assert.deepEqual(s.take(C), ["WORK_EXCEPTION H:t:1\0boom\0trace"]);
    assert.deepEqual(s.take(C2), ["WORK_FAIL H:t:1"], "payload is exactly the handle, no stray NUL");
    assert.equal(s.status(), "f\t0\t0\t1\n.\n", "the exception ends the job");
    s.send(W, "WORK_FAIL", "H:t:1");
    assert.deepEqual(s.take(W), [], "the Perl worker's trailing WORK_FAIL is swallowed");
    assert.deepEqual([s.take(C), s.take(C2)], [[], []]);
    s.send(W, "WORK_FAIL", "H:t:1");
    assert.deepEqual(s.take(W), ["ERROR JOB_NOT_FOUND\0Job given in work result not found"], "only once");
  });

  test("WORK_* for a job this worker does not hold get ERROR JOB_NOT_FOUND with gearmand's texts", () => {
    const s = new CoreSession().open(W);
    const generic = "ERROR JOB_NOT_FOUND\0Job given in work result not found";
    const missing = "ERROR JOB_NOT_FOUND\0Job does not exist on server";
    s.send(W, "WORK_COMPLETE", "H:bogus:1", "r");
    s.send(W, "WORK_FAIL", "H:bogus:1");
    s.send(W, "WORK_STATUS", "H:bogus:1", "1", "2");
    s.send(W, "WORK_DATA", "H:bogus:1", "d");
    s.send(W, "WORK_WARNING", "H:bogus:1", "w");
    s.send(W, "WORK_EXCEPTION", "H:bogus:1", "e");
    assert.deepEqual(s.take(W), [
      generic,
      generic,
      generic,
      missing,
      missing,
      "ERROR JOB_NOT_FOUND\0An exception was received for a job that does not exist",
    ]);
  });

  test("another worker's WORK_COMPLETE is refused and only the owner's result reaches the client", () => {
    const s = new CoreSession().open(C, W, W2);
    s.canDo(W, "f");
    s.canDo(W2, "f");
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    s.take(C);
    s.send(W, "GRAB_JOB");
    s.take(W);
    s.send(W2, "WORK_COMPLETE", "H:t:1", "forged");
    assert.deepEqual(s.take(W2), ["ERROR JOB_NOT_FOUND\0Job given in work result not found"]);
    assert.deepEqual(s.take(C), []);
    s.send(W, "WORK_COMPLETE", "H:t:1", "real");
    assert.deepEqual(s.take(C), ["WORK_COMPLETE H:t:1\0real"]);
  });

  test("CANT_DO or RESET_ABILITIES requeues the held job and the old worker's result is refused", () => {
    for (const drop of ["CANT_DO", "RESET_ABILITIES"]) {
      const s = new CoreSession().open(C, W);
      s.canDo(W, "f");
      s.send(C, "SUBMIT_JOB", "f", "", "x");
      s.send(W, "GRAB_JOB");
      s.take(W);
      if (drop === "CANT_DO") s.send(W, "CANT_DO", "f");
      else s.send(W, "RESET_ABILITIES");
      assert.equal(s.status(), "f\t1\t0\t0\n.\n", drop);
      s.send(W, "WORK_COMPLETE", "H:t:1", "late");
      assert.deepEqual(s.take(W), ["ERROR JOB_NOT_FOUND\0Job given in work result not found"], drop);
      assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1"], drop);
    }
  });

  test("round robin rotates a worker's functions after each assignment", () => {
    const grabs = (roundRobin: boolean) => {
      const s = new CoreSession({ roundRobin }).open(C, W);
      for (const [f, d] of [["a", "a1"], ["b", "b1"], ["a", "a2"], ["b", "b2"], ["c", "c1"]]) s.send(C, "SUBMIT_JOB_BG", f!, "", d!);
      s.canDo(W, "a", "b", "c");
      for (let i = 0; i < 5; i++) s.send(W, "GRAB_JOB");
      return s.take(W).map((p) => p.split("\0")[2]);
    };
    assert.deepEqual(grabs(true), ["c1", "b1", "a1", "b2", "a2"]);
    assert.deepEqual(grabs(false), ["c1", "b1", "b2", "a1", "a2"], "without it: newest registration first");
  });
});
