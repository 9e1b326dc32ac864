/**
 * What the core counts per function for `/metrics` (src/core/function_metrics.ts):
 * submissions by kind, failures by reason, wait and run times on the
 * session's clock, and the dead set per function.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CoreSession } from "../helpers/core_session.ts";
import { Cmd } from "../../src/protocol/commands.ts";

const C = 1, W = 11, W2 = 12;

function metrics(s: CoreSession, fn: string) {
  return s.core.view.functions.get(fn)!.metrics!;
}

describe("per-function metrics in the core", () => {
  test("submissions are counted by kind, and a coalesced submission makes no job to count", () => {
    const s = new CoreSession().open(C);
    s.submit(C, "SUBMIT_JOB", "f", "", "fg");
    s.submit(C, "SUBMIT_JOB_BG", "f", "u", "bg");
    s.submit(C, "SUBMIT_JOB_BG", "f", "u", "bg again");
    s.submit(C, "SUBMIT_JOB_EPOCH", "f", "", String(Math.floor(s.now / 1000) + 60), "later");
    assert.deepEqual(metrics(s, "f").submitted, { foreground: 1, background: 1, scheduled: 1 });
  });

  test("failures are counted by reason: failed, exception, permanent, and retries_exhausted when job_retries runs out", () => {
    const s = new CoreSession({ jobRetries: 1 }).open(C, W);
    for (let i = 0; i < 4; i++) s.submit(C, "SUBMIT_JOB_BG", "f", "", `j${i}`);
    s.send(W, "OPTION_REQ", "reliable");
    s.send(W, "OPTION_REQ", "exceptions");
    s.canDo(W, "f");
    const grab = () => {
      s.send(W, "GRAB_JOB");
      return s.take(W).find((p) => p.startsWith("JOB_ASSIGN "))!.slice("JOB_ASSIGN ".length).split("\0")[0]!;
    };
    s.take(W);
    s.send(W, "WORK_FAIL", grab());
    s.send(W, "WORK_EXCEPTION", grab(), "boom");
    s.sendCode(W, Cmd.WORK_PERMANENT_FAIL, grab(), "3", "gone");
    grab();
    s.close(W); // the fourth job loses its worker; job_retries 1 ends it
    assert.deepEqual(Object.fromEntries(metrics(s, "f").failed!), { failed: 1, exception: 1, permanent: 1, retries_exhausted: 1 });
    assert.equal(s.core.view.ended.deadByFunction.get("f"), 4);
  });

  test("a failure that uses up a retry policy counts as retries_exhausted, the retries before it not at all", () => {
    const s = new CoreSession({ retry: { maxRetries: 1, delayMs: 0, backoff: "fixed", maxDelayMs: 0, jitter: 0 } }).open(C, W);
    s.submit(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "OPTION_REQ", "reliable");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.sendCode(W, Cmd.WORK_FAIL_EXIT, "H:t:1", "7", "first try");
    assert.equal(metrics(s, "f").failed, undefined, "a retried failure is not an end");
    s.advance(1);
    s.send(W, "GRAB_JOB");
    s.sendCode(W, Cmd.WORK_FAIL_EXIT, "H:t:1", "9", "second try");
    assert.deepEqual(Object.fromEntries(metrics(s, "f").failed!), { retries_exhausted: 1 });
    assert.equal(metrics(s, "f").run!.count, 2, "both runs are timed");
  });

  test("wait and run times are taken on the core's clock at assignment and at the end of each run", () => {
    const s = new CoreSession().open(C, W, W2);
    s.submit(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.canDo(W, "f");
    s.advance(3_000);
    s.send(W, "GRAB_JOB");
    const handle = s.take(W).find((p) => p.startsWith("JOB_ASSIGN "))!.split(" ")[1]!.split("\0")[0]!;
    s.advance(250);
    s.send(W, "WORK_COMPLETE", handle, "ok");
    const m = metrics(s, "f");
    assert.deepEqual([m.wait!.count, m.wait!.sum, m.run!.count, m.run!.sum], [1, 3, 1, 0.25]);
    assert.equal(s.core.view.functions.get("g"), undefined);
  });

  test("a function that never had a job allocates no metrics", () => {
    const s = new CoreSession().open(W);
    s.canDo(W, "idle");
    assert.equal(s.core.view.functions.get("idle")!.metrics, undefined);
  });
});
