import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Cmd } from "../../src/protocol/commands.ts";
import { CoreSession } from "../helpers/core_session.ts";

const C = 1, W = 2, W2 = 3, C2 = 4, A = 9;

function handleOf(s: CoreSession, conn: number): string {
  const p = s.packets(conn).find((x) => x.name === "JOB_CREATED");
  assert.ok(p, "no JOB_CREATED");
  return p.args[0]!;
}

/** Two workers that can do f go to sleep, then a client submits a background job of f. */
function sleepersThenJob(options: ConstructorParameters<typeof CoreSession>[0]): CoreSession {
  const s = new CoreSession(options);
  s.open(C, W, W2);
  for (const w of [W, W2]) {
    s.send(w, "CAN_DO", "f");
    s.send(w, "PRE_SLEEP");
  }
  s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
  return s;
}

describe("core: acknowledgements and the store", () => {
  test("a background JOB_CREATED waits for the commit, and a pipelined echo waits behind it", () => {
    const s = new CoreSession();
    s.open(C);
    s.autoAck = false;
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(C, "ECHO_REQ", "after");
    assert.deepEqual(s.take(C), []);
    s.ack();
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", "ECHO_RES after"]);
  });

  test("a failed commit answers QUEUE_ERROR and the job never reaches a worker", () => {
    const s = new CoreSession();
    s.open(C, W);
    s.autoAck = false;
    s.send(W, "CAN_DO", "f");
    s.send(W, "PRE_SLEEP");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.ack("disk full");
    assert.deepEqual(s.take(C), ["ERROR QUEUE_ERROR\0disk full"]);
    assert.deepEqual(s.take(W), [], "no NOOP for a job that was refused");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    assert.equal(s.admin(A, "status"), "f\t0\t0\t1\n.\n");
  });

  test("restored jobs keep their handles and new handles continue after the highest id", () => {
    const s = new CoreSession();
    s.core.restore([
      {
        id: 41,
        handle: "H:old:41",
        function: "f",
        unique: "u",
        data: new Uint8Array([1]),
        reducer: "",
        priority: 1,
        runAt: 0,
        createdAt: 0,
        retries: 2,
        failures: [],
        ended: undefined,
      },
    ], s.now);
    s.open(C, W);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "y");
    assert.equal(handleOf(s, C), "H:t:42");
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB_UNIQ");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN_UNIQ H:old:41\0f\0u\0\x01"]);
    assert.equal(s.admin(A, "show jobs"), "H:old:41\t2\t0\t1\nH:t:42\t0\t0\t1\n.\n");
  });
});

describe("core: time", () => {
  test("CAN_DO_TIMEOUT runs one deadline per assignment and requeues to the tail", () => {
    const s = new CoreSession();
    s.open(C, W, W2);
    s.send(W, "CAN_DO_TIMEOUT", "f", "2000");
    for (const u of ["a", "b", "c"]) s.send(C, "SUBMIT_JOB_BG", "f", u, u);
    s.take(C);
    s.send(W, "GRAB_JOB");
    s.advance(1000);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W).map((x) => x.split("\0")[0]), ["JOB_ASSIGN H:t:1", "JOB_ASSIGN H:t:2"]);
    s.advance(1001); // the first assignment is 2001 ms old, the second 1001 ms
    assert.equal(s.admin(A, "status"), "f\t3\t1\t1\n.\n");
    s.advance(1000);
    assert.equal(s.admin(A, "status"), "f\t3\t0\t1\n.\n");
    s.send(W, "WORK_COMPLETE", "H:t:1", "late");
    assert.deepEqual(s.take(W), ["ERROR JOB_NOT_FOUND\0Job given in work result not found"]);
    s.send(W2, "CAN_DO", "f");
    for (let i = 0; i < 3; i++) s.send(W2, "GRAB_JOB");
    // c was never taken, so it is now first; the timed-out ones follow in expiry order.
    assert.deepEqual(s.take(W2).map((x) => x.split("\0")[0]), [
      "JOB_ASSIGN H:t:3",
      "JOB_ASSIGN H:t:1",
      "JOB_ASSIGN H:t:2",
    ]);
    assert.equal(s.admin(A, "show jobs"), "H:t:1\t1\t0\t1\nH:t:2\t1\t0\t1\nH:t:3\t0\t0\t1\n.\n");
  });

  test("CAN_DO_TIMEOUT raises values under a second to one second and refuses garbage", () => {
    const s = new CoreSession();
    s.open(C, W);
    s.send(W, "CAN_DO_TIMEOUT", "f", "10");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "GRAB_JOB");
    s.advance(999);
    assert.equal(s.admin(A, "status"), "f\t1\t1\t1\n.\n");
    s.advance(1);
    assert.equal(s.admin(A, "status"), "f\t1\t0\t1\n.\n");
    s.send(W, "CAN_DO_TIMEOUT", "g", "soon");
    assert.deepEqual(s.take(W).slice(-1), ["ERROR INVALID_ARGUMENT\0CAN_DO_TIMEOUT needs a timeout in milliseconds"]);
  });

  test("an epoch job wakes its sleeping worker exactly when due, and a due LOW job is not starved by a future one", () => {
    const s = new CoreSession();
    s.open(C, W);
    s.send(W, "CAN_DO", "f");
    s.send(W, "PRE_SLEEP");
    const due = Math.floor(s.now / 1000) + 5;
    s.send(C, "SUBMIT_JOB_EPOCH", "f", "", String(due), "later");
    assert.equal(s.admin(A, "prioritystatus"), "f\t0\t1\t0\t1\n.\n");
    s.advance(due * 1000 - s.now - 1);
    assert.deepEqual(s.take(W), []);
    s.send(C, "SUBMIT_JOB_LOW_BG", "f", "", "low");
    assert.deepEqual(s.take(W), ["NOOP"]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:2\0f\0low"]);
    s.send(W, "PRE_SLEEP");
    s.advance(1);
    assert.deepEqual(s.take(W), ["NOOP"]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0later"]);
  });

  test("epochs that are not numbers or more than ten years ahead are refused; past ones run now", () => {
    const s = new CoreSession();
    s.open(C);
    s.send(C, "SUBMIT_JOB_EPOCH", "f", "", "abc", "x");
    s.send(C, "SUBMIT_JOB_EPOCH", "f", "", String(Math.floor(s.now / 1000) + 11 * 365 * 86400), "x");
    s.send(C, "SUBMIT_JOB_EPOCH", "f", "", "1", "x");
    assert.deepEqual(s.take(C), [
      "ERROR INVALID_ARGUMENT\0Epoch must be a Unix time in seconds",
      "ERROR INVALID_ARGUMENT\0Epoch too far in the future",
      "JOB_CREATED H:t:1",
    ]);
    assert.equal(s.admin(A, "prioritystatus"), "f\t0\t1\t0\t0\n.\n");
  });

  test("with wakeup 0 no sleeper is woken, even after wakeup_delay, and a polling worker still gets the job", () => {
    const s = sleepersThenJob({ wakeup: 0, wakeupDelayMs: 500 });
    s.advance(5000);
    assert.deepEqual([s.take(W), s.take(W2)], [[], []]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0x"]);
  });

  test("with wakeup -1 a job wakes every sleeper", () => {
    const s = sleepersThenJob({ wakeup: -1 });
    assert.deepEqual([s.take(W), s.take(W2)], [["NOOP"], ["NOOP"]]);
  });

  test("with wakeup 1 a job wakes one sleeper, and wakeup_delay wakes the next if it still waits", () => {
    const s = sleepersThenJob({ wakeup: 1, wakeupDelayMs: 500 });
    assert.deepEqual([s.take(W), s.take(W2)], [["NOOP"], []]);
    s.advance(499);
    assert.deepEqual(s.take(W2), []);
    s.advance(1);
    assert.deepEqual(s.take(W2), ["NOOP"]);
  });
});

describe("core: leases", () => {
  test("a lease (grab_for) re-offers a silent worker's job when it ends and refuses the late completion", () => {
    const s = new CoreSession({ grabForMs: 5000, functions: { quick: { grabForMs: 1000 } } });
    s.open(C, W, W2);
    for (const f of ["slow", "quick"]) s.send(C, "SUBMIT_JOB_BG", f, "", f);
    s.take(C);
    s.send(W, "CAN_DO", "slow");
    s.send(W, "CAN_DO", "quick");
    s.send(W, "GRAB_JOB");
    s.send(W, "GRAB_JOB");
    s.take(W);
    s.advance(1000);
    assert.equal(s.admin(A, "status"), "quick\t1\t0\t1\nslow\t1\t1\t1\n.\n", "the per-function lease of quick ended first");
    s.advance(4000);
    assert.equal(s.admin(A, "status"), "quick\t1\t0\t1\nslow\t1\t0\t1\n.\n");
    s.send(W, "WORK_COMPLETE", "H:t:1", "late");
    assert.deepEqual(s.take(W), ["ERROR JOB_NOT_FOUND\0Job given in work result not found"]);
    assert.match(s.admin(A, "counters"), /^lease_expired\t2$/m);
  });

  test("a worker's own CAN_DO_TIMEOUT takes precedence over the lease", () => {
    const s = new CoreSession({ grabForMs: 1000 });
    s.open(C, W);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "CAN_DO_TIMEOUT", "f", "3000");
    s.send(W, "GRAB_JOB");
    s.advance(2000);
    assert.equal(s.admin(A, "status"), "f\t1\t1\t1\n.\n");
    s.advance(1000);
    assert.equal(s.admin(A, "status"), "f\t1\t0\t1\n.\n");
    assert.match(s.admin(A, "counters"), /^worker_timeout\t1$/m);
  });
});

describe("core: retries of failed background jobs", () => {
  test("a failed background job runs again after the delay until max_retries, then fails for good", () => {
    const s = new CoreSession({ retry: { maxRetries: 2, delayMs: 1000, backoff: "exponential", maxDelayMs: 60_000, jitter: 0 } });
    s.open(C, W);
    s.send(C, "SUBMIT_JOB_BG", "f", "u", "x");
    s.take(C);
    s.send(W, "CAN_DO", "f");
    const attempt = () => {
      s.send(W, "GRAB_JOB");
      assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0x"]);
      s.send(W, "WORK_FAIL", "H:t:1");
    };
    attempt();
    assert.equal(s.admin(A, "show jobs"), "H:t:1\t1\t0\t1\n.\n", "kept, with one failure counted");
    s.send(W, "PRE_SLEEP");
    s.advance(999);
    assert.deepEqual(s.take(W), []);
    s.advance(1);
    assert.deepEqual(s.take(W), ["NOOP"]);
    attempt();
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"], "the second retry waits twice as long");
    s.advance(2000);
    attempt();
    assert.equal(s.admin(A, "status"), "f\t0\t0\t1\n.\n", "out of retries: out of the queue");
    const c = s.admin(A, "counters");
    assert.match(c, /^retried\t2$/m);
    assert.match(c, /^failed\t1$/m);
    const updates = s.effects.filter((e) => e.kind === "update");
    assert.equal(updates.length, 3, "the store learns each retry, then the end");
    assert.equal(s.effects.filter((e) => e.kind === "forget").length, 0, "a failed job is kept in the dead set");
  });

  test("an exception is retried too, and a Perl worker's trailing WORK_FAIL neither errs nor counts twice", () => {
    const s = new CoreSession({ retry: { maxRetries: 1, delayMs: 0, backoff: "fixed", maxDelayMs: 0, jitter: 0 } });
    s.open(C, W);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.take(W);
    s.send(W, "WORK_EXCEPTION", "H:t:1", "boom");
    s.send(W, "WORK_FAIL", "H:t:1");
    assert.deepEqual(s.take(W), []);
    assert.equal(s.admin(A, "show jobs"), "H:t:1\t1\t0\t1\n.\n");
  });

  test("a job somebody waits for fails at once, as in gearmand, whatever the policy", () => {
    const s = new CoreSession({ retry: { maxRetries: 3, delayMs: 0, backoff: "fixed", maxDelayMs: 0, jitter: 0 } });
    s.open(C, W);
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    const h = handleOf(s, C);
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "WORK_FAIL", h);
    assert.deepEqual(s.take(C), [`WORK_FAIL ${h}`]);
  });

  test("with a retry policy a lost worker or an ended lease counts as a failure and waits for the delay", () => {
    const s = new CoreSession({
      grabForMs: 5000,
      retry: { maxRetries: 1, delayMs: 1000, backoff: "fixed", maxDelayMs: 60_000, jitter: 0 },
    });
    s.open(C, W, W2);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.close(W);
    s.send(W2, "CAN_DO", "f");
    s.send(W2, "GRAB_JOB");
    assert.deepEqual(s.take(W2), ["NO_JOB"], "not offered again before the delay");
    s.advance(1000);
    s.send(W2, "GRAB_JOB");
    assert.deepEqual(s.take(W2), ["JOB_ASSIGN H:t:1\0f\0x"]);
    s.advance(5000); // the lease ends: second failure, out of retries
    assert.equal(s.admin(A, "status"), "f\t0\t0\t1\n.\n");
    assert.match(s.admin(A, "counters"), /^failed\t1$/m);
  });

  test("without a retry policy a lost worker and an ended lease still store the failure log and the attempt count", () => {
    const s = new CoreSession({ grabForMs: 1000 });
    s.open(C, W, W2);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    const stored = () => {
      const u = s.effects.filter((e) => e.kind === "update").at(-1) as
        | { job: { retries: number; failures: { message: string }[] } }
        | undefined;
      return u ? { retries: u.job.retries, failures: u.job.failures.map((f) => f.message) } : undefined;
    };
    s.close(W);
    assert.deepEqual(stored(), { retries: 1, failures: ["worker disconnected"] });
    s.send(W2, "CAN_DO", "f");
    s.send(W2, "GRAB_JOB");
    s.advance(1000);
    assert.equal(stored()?.retries, 2);
    assert.equal(stored()?.failures.length, 2);
    assert.match(stored()!.failures[1]!, /lease/);
  });

  test("WORK_FAIL_EXIT is retried by the policy and the last failure keeps its exit status", () => {
    const s = new CoreSession({ retry: { maxRetries: 1, delayMs: 0, backoff: "fixed", maxDelayMs: 0, jitter: 0 } });
    s.open(C, W);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "OPTION_REQ", "reliable");
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.sendCode(W, Cmd.WORK_FAIL_EXIT, "H:t:1", "7", "first try");
    s.advance(1);
    s.send(W, "GRAB_JOB");
    assert.ok(s.packets(W).some((p) => p.name === "JOB_ASSIGN"), "offered again after the first failure");
    s.sendCode(W, Cmd.WORK_FAIL_EXIT, "H:t:1", "9", "second try");
    const show = s.admin(A, "job show H:t:1");
    assert.match(show, /^state\tfailed$/m);
    assert.match(show, /^exit_status\t9$/m);
    assert.deepEqual([...show.matchAll(/^failure\t\d+\t(.*)$/gm)].map((m) => m[1]), ["first try", "second try"]);
  });

  test("WORK_FAIL_EXIT with exit status 0 is refused and the job keeps running", () => {
    const s = new CoreSession();
    s.open(C, W);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "OPTION_REQ", "reliable");
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.take(W);
    s.sendCode(W, Cmd.WORK_FAIL_EXIT, "H:t:1", "0", "nope");
    assert.deepEqual(s.take(W), ["ERROR INVALID_ARGUMENT\0exit_status must be an integer from 1"]);
    assert.equal(s.admin(A, "status"), "f\t1\t1\t1\n.\n");
  });

  test("per-function retry settings override the default", () => {
    const s = new CoreSession({ functions: { flaky: { retry: { maxRetries: 1 } } } });
    s.open(C, W);
    for (const f of ["flaky", "solid"]) s.send(C, "SUBMIT_JOB_BG", f, "", f);
    for (const f of ["flaky", "solid"]) s.send(W, "CAN_DO", f);
    for (let i = 0; i < 2; i++) {
      s.send(W, "GRAB_JOB");
      s.send(W, "WORK_FAIL", s.packets(W).find((p) => p.name === "JOB_ASSIGN")!.args[0]!);
    }
    assert.equal(s.admin(A, "status"), "flaky\t1\t0\t1\nsolid\t0\t0\t1\n.\n");
  });
});

describe("core: losing peers", () => {
  test("job_retries 2 fails a foreground job with WORK_FAIL after its second lost worker", () => {
    const s = new CoreSession({ jobRetries: 2 });
    s.open(C, W, W2);
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    const h = handleOf(s, C);
    for (const w of [W, W2]) {
      s.send(w, "CAN_DO", "f");
      s.send(w, "GRAB_JOB");
      s.close(w);
    }
    assert.deepEqual(s.take(C), [`WORK_FAIL ${h}`]);
    assert.equal(s.admin(A, "show jobs"), ".\n");
  });

  test("a queued foreground job is dropped when its only client leaves; a running one finishes quietly", () => {
    const s = new CoreSession();
    s.open(C, C2, W);
    s.send(C, "SUBMIT_JOB", "f", "", "queued");
    s.close(C);
    assert.equal(s.admin(A, "status"), "f\t0\t0\t0\n.\n");
    s.send(C2, "SUBMIT_JOB", "f", "", "running");
    const h = handleOf(s, C2);
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.take(W);
    s.close(C2);
    s.send(W, "WORK_DATA", h, "d");
    s.send(W, "WORK_COMPLETE", h, "r");
    assert.deepEqual(s.take(W), []);
    assert.equal(s.admin(A, "status"), "f\t0\t0\t1\n.\n");
  });

  test("WORK_EXCEPTION reaches exception listeners as is and others as a plain WORK_FAIL; the worker's trailing WORK_FAIL is swallowed", () => {
    const s = new CoreSession();
    s.open(C, C2, W);
    s.send(C2, "OPTION_REQ", "Exceptions");
    assert.deepEqual(s.take(C2), ["OPTION_RES Exceptions"]);
    s.send(C, "SUBMIT_JOB", "f", "same", "x");
    s.send(C2, "SUBMIT_JOB", "f", "same", "x");
    const h = handleOf(s, C);
    s.take(C2);
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.take(W);
    s.send(W, "WORK_EXCEPTION", h, "boom");
    s.send(W, "WORK_FAIL", h);
    assert.deepEqual(s.take(C), [`WORK_FAIL ${h}`]);
    assert.deepEqual(s.take(C2), [`WORK_EXCEPTION ${h}\0boom`]);
    assert.deepEqual(s.take(W), []);
  });

  test("cancelling a running job fails it for its clients and quietly drops the worker's late results", () => {
    const s = new CoreSession();
    s.open(C, W);
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    const h = handleOf(s, C);
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    s.take(W);
    assert.equal(s.admin(A, `cancel job ${h}`), "OK\r\n");
    s.send(W, "WORK_STATUS", h, "1", "2");
    s.send(W, "WORK_COMPLETE", h, "late");
    assert.deepEqual(s.take(C), [`WORK_FAIL ${h}`]);
    assert.deepEqual(s.take(W), []);
    s.send(W, "WORK_COMPLETE", h, "again");
    assert.deepEqual(s.take(W), ["ERROR JOB_NOT_FOUND\0Job given in work result not found"]);
  });
});

describe("core: choosing jobs", () => {
  test("round robin rotates a worker's functions after each assignment", () => {
    const s = new CoreSession({ roundRobin: true });
    s.open(C, W);
    for (const f of ["a", "b", "c"]) s.send(W, "CAN_DO", f);
    for (const [f, u] of [["a", "a1"], ["b", "b1"], ["a", "a2"], ["b", "b2"], ["c", "c1"]]) s.send(C, "SUBMIT_JOB_BG", f!, u!, u!);
    for (let i = 0; i < 5; i++) s.send(W, "GRAB_JOB_UNIQ");
    assert.deepEqual(s.packets(W).map((p) => p.args[2]), ["c1", "b1", "a1", "b2", "a2"]);
  });

  test("a duplicate CAN_DO counts once and moves the function to the front", () => {
    const s = new CoreSession();
    s.open(W);
    for (const f of ["a", "b", "a"]) s.send(W, "CAN_DO", f);
    assert.equal(s.admin(W, "workers"), "2 127.0.0.1 - : a b\n.\n");
    assert.equal(s.admin(W, "status"), "a\t0\t0\t1\nb\t0\t0\t1\n.\n");
  });

  test("the counters command reports causes", () => {
    const s = new CoreSession();
    s.open(C);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(C, "OPTION_REQ", "nope");
    s.send(C, "NOOP");
    const c = s.admin(A, "counters");
    assert.match(c, /^invalid_command\t1$/m);
    assert.match(c, /^submitted\t1$/m);
    assert.match(c, /^unknown_option\t1$/m);
  });
});
