/**
 * Foreground workloads held in the workload pool (src/core/workload_pool.ts)
 * instead of a buffer each: what a worker gets is byte for byte what the
 * client sent, whichever way the job goes, and every slot is back in the
 * pool once its job left the table.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { POOLED_MAX } from "../../src/core/workload_pool.ts";
import { CoreSession } from "../helpers/core_session.ts";

const C = 1, C2 = 2, W = 11, W2 = 12, A = 99;

/** A workload of `n` bytes that differs with `seed`. */
const text = (n: number, seed: string) => Array.from({ length: n }, (_, i) => seed[i % seed.length]).join("");

describe("core session: foreground workloads in the pool", () => {
  test("workloads of every slot size and past the largest reach the worker byte for byte, and every slot comes back when its job ends", () => {
    const s = new CoreSession().open(C, W);
    const lengths = [0, 5, 100, 1000, POOLED_MAX, POOLED_MAX + 1, 10_000];
    const sent = lengths.map((n, k) => text(n, `abc${k}`));
    for (const [k, w] of sent.entries()) s.submit(C, "SUBMIT_JOB", "f", `u${k}`, w);
    assert.equal(s.core.view.workloads.live, lengths.filter((n) => n <= POOLED_MAX).length, "the two larger ones keep their own buffers");
    s.canDo(W, "f");
    for (const [k, w] of sent.entries()) {
      s.send(W, "GRAB_JOB_ALL");
      assert.deepEqual(s.take(W), [`JOB_ASSIGN_UNIQ H:t:${k + 1}\0f\0u${k}\0${w}`]);
      s.send(W, "WORK_COMPLETE", `H:t:${k + 1}`, "ok");
    }
    assert.equal(s.take(C).length, lengths.length, "every client got its WORK_COMPLETE");
    assert.equal(s.core.view.workloads.live, 0);
  });

  test("a queued job whose client left gives its slot back; a running job whose worker left keeps it and the next worker gets the same bytes", () => {
    const s = new CoreSession().open(C, C2, W, W2);
    s.submit(C2, "SUBMIT_JOB", "f", "gone", "never run");
    s.close(C2);
    assert.equal(s.core.view.workloads.live, 0, "the cancelled job's slot is free");
    s.submit(C, "SUBMIT_JOB", "f", "u", "the workload");
    s.submit(C, "SUBMIT_JOB", "f", "v", "a second one");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:2\0f\0the workload"]);
    s.close(W);
    assert.equal(s.core.view.workloads.live, 2, "the job went back to its queue with its workload");
    s.canDo(W2, "f");
    s.send(W2, "GRAB_JOB");
    s.send(W2, "GRAB_JOB");
    assert.deepEqual(
      s.take(W2),
      ["JOB_ASSIGN H:t:3\0f\0a second one", "JOB_ASSIGN H:t:2\0f\0the workload"],
      "a job put back waits at the end",
    );
    s.send(W2, "WORK_FAIL", "H:t:2");
    s.send(W2, "WORK_EXCEPTION", "H:t:3", "boom");
    assert.equal(s.core.view.workloads.live, 0, "failed jobs gave their slots back too");
  });

  test("coalesced submissions share one slot, and job show gives a pooled workload's size", () => {
    const s = new CoreSession().open(C, C2, W, A);
    s.submit(C, "SUBMIT_JOB", "f", "same", "first bytes");
    s.submit(C2, "SUBMIT_JOB", "f", "same", "other bytes, ignored");
    assert.equal(s.core.view.workloads.live, 1);
    assert.match(s.admin(A, "job show H:t:1"), /\ndata_bytes\t11\n/);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0first bytes"]);
    s.send(W, "WORK_COMPLETE", "H:t:1", "r");
    assert.deepEqual([s.take(C), s.take(C2)], [["WORK_COMPLETE H:t:1\0r"], ["WORK_COMPLETE H:t:1\0r"]]);
    assert.equal(s.core.view.workloads.live, 0);
  });

  test("a JOB_ASSIGN that must wait behind a held reply carries its workload, read before the slot could be reused", () => {
    const s = new CoreSession().open(C, W);
    s.autoAck = false;
    s.submit(C, "SUBMIT_JOB", "f", "u", "pooled bytes");
    s.canDo(W, "f");
    s.send(W, "SUBMIT_JOB_BG", "g", "b", "held");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), [], "the JOB_ASSIGN waits behind the JOB_CREATED the store has not answered");
    s.send(W, "WORK_COMPLETE", "H:t:1", "done"); // a worker may answer before it reads: the slot is freed now
    s.send(C, "SUBMIT_JOB", "f", "u2", "XXXXXXXXXXXX"); // and taken by another job's workload
    assert.deepEqual(s.take(C), ["WORK_COMPLETE H:t:1\0done", "JOB_CREATED H:t:3"]);
    s.ack();
    assert.deepEqual(s.take(W), ["JOB_CREATED H:t:2", "JOB_ASSIGN H:t:1\0f\0pooled bytes"]);
  });

  test("a committed background workload kept in memory moves into the pool; the worker gets its bytes and the payload memory comes back to 0", () => {
    const s = new CoreSession({ storeReadsPayloads: true, maxPayloadMemory: 20 }).open(C, W);
    for (const [k, w] of ["first job", "second job", "third job"].entries()) s.submit(C, "SUBMIT_JOB_BG", "f", `b${k}`, w);
    assert.equal(s.core.view.payloadBytes, 19, "two workloads fit in 20 bytes; the third is left to the store");
    assert.equal(s.core.view.workloads.live, 2);
    s.canDo(W, "f");
    for (const [k, w] of ["first job", "second job", "third job"].entries()) {
      s.send(W, "GRAB_JOB");
      assert.deepEqual(s.take(W), [`JOB_ASSIGN H:t:${k + 1}\0f\0${w}`]);
      s.send(W, "WORK_COMPLETE", `H:t:${k + 1}`, "");
    }
    assert.equal(s.core.view.payloadBytes, 0);
    assert.equal(s.core.view.workloads.live, 0);
  });

  test("with workload_pool_memory 0 every workload keeps its own buffer and the worker gets the same bytes", () => {
    const s = new CoreSession({ workloadPoolBytes: 0 }).open(C, W, A);
    s.submit(C, "SUBMIT_JOB", "f", "u", "own bytes");
    assert.equal(s.core.view.workloads.live, 0);
    assert.equal(s.core.view.workloads.bytes, 0);
    assert.match(s.admin(A, "counters"), /\nworkload_pool_bytes\t0\n/);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0own bytes"]);
  });
});
