/**
 * Workloads read back from the store as an effect (src/core/payload_reads.ts,
 * settle_read.ts): past max_payload_memory a committed job's workload is left
 * to the store; a worker that takes such a job gets its JOB_ASSIGN* only when
 * the edge answers the `read` effect, in the reply slot its grab held. Reads
 * are held here and answered by hand, so every race is played in order.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { CoreOptions } from "../../src/core/core_options.ts";
import { CoreSession } from "../helpers/core_session.ts";

const C = 1, W = 2, W2 = 3, A = 9;

/** A session whose store keeps every workload (none in memory), reads held; `n` background jobs of f submitted. */
function onDisk(n: number, options: Partial<CoreOptions> = {}): CoreSession {
  const s = new CoreSession({ storeReadsPayloads: true, maxPayloadMemory: 0, ...options });
  s.autoRead = false;
  s.open(C, W, W2);
  for (let i = 1; i <= n; i++) s.submit(C, "SUBMIT_JOB_BG", "f", `u${i}`, `w${i}`);
  return s;
}

describe("core session: workloads read back from the store", () => {
  test("a grab of a job left to the store emits one read; the JOB_ASSIGN comes with the store's bytes, and a request pipelined after the grab is answered after it", () => {
    const s = onDisk(1);
    assert.equal(s.core.view.payloadBytes, 0, "no workload held in memory");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB_UNIQ");
    s.send(W, "ECHO_REQ", "after");
    assert.deepEqual(s.take(W), [], "both replies wait for the read");
    assert.deepEqual(s.reads.map((r) => r.id), [1]);
    assert.equal(s.takeEffects("read").length, 1);
    assert.equal(s.core.view.reading, 1);
    s.answerReads();
    assert.deepEqual(s.take(W), ["JOB_ASSIGN_UNIQ H:t:1\0f\0u1\0w1", "ECHO_RES after"]);
    assert.equal(s.core.view.reading, 0);
  });

  test("while one worker's read is in flight another worker's grab is answered at once", () => {
    const s = onDisk(1);
    s.canDo(W, "f");
    s.canDo(W2, "f");
    s.send(W, "GRAB_JOB");
    s.send(W2, "GRAB_JOB");
    s.send(W2, "ECHO_REQ", "x");
    assert.deepEqual(s.take(W2), ["NO_JOB", "ECHO_RES x"], "the only job is W's, and W2 waits for nothing");
    s.answerReads();
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0w1"]);
  });

  test("reads of several jobs may come back in any order; each worker gets its own job's bytes", () => {
    const s = onDisk(2);
    s.canDo(W, "f");
    s.canDo(W2, "f");
    s.send(W, "GRAB_JOB");
    s.send(W2, "GRAB_JOB");
    s.answerReads(undefined, 2);
    assert.deepEqual(s.take(W2), ["JOB_ASSIGN H:t:2\0f\0w2"]);
    assert.deepEqual(s.take(W), []);
    s.answerReads(undefined, 1);
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0w1"]);
  });

  test("a worker that disconnects while its read is in flight gives the job back to the queue, and the late bytes go nowhere", () => {
    const s = onDisk(1);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.equal(s.status(), "f\t1\t1\t1\n.\n");
    s.close(W);
    assert.equal(s.status(), "f\t1\t0\t0\n.\n", "queued again, as for any lost worker");
    s.answerReads();
    assert.equal(s.status(), "f\t1\t0\t0\n.\n", "the late answer changed nothing");
    s.canDo(W2, "f");
    s.send(W2, "GRAB_JOB");
    s.answerReads();
    assert.deepEqual(s.take(W2), ["JOB_ASSIGN H:t:1\0f\0w1"], "the next worker gets it, read again");
  });

  test("a job cancelled while its workload is read: the worker's grab gets NO_JOB, not the cancelled job", () => {
    const s = onDisk(1);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "ECHO_REQ", "after");
    assert.equal(s.admin(A, "job cancel H:t:1"), "OK 1\n");
    s.answerReads();
    assert.deepEqual(s.take(W), ["NO_JOB", "ECHO_RES after"]);
    assert.equal(s.status(), "f\t0\t0\t1\n.\n");
    assert.equal(s.core.view.counters.get("payload_unavailable"), undefined, "not a failed read");
  });

  test("a job whose lease ran out during the read and was taken by another worker goes to that worker only, whichever read answers first", () => {
    for (const order of ["old first", "new first"] as const) {
      const s = onDisk(1, { grabForMs: 1000 });
      s.canDo(W, "f");
      s.canDo(W2, "f");
      s.send(W, "GRAB_JOB");
      s.advance(1001);
      s.send(W2, "GRAB_JOB");
      assert.deepEqual(s.reads.map((r) => r.id), [1, 1], `${order}: one read per assignment`);
      const [old, young] = s.reads.splice(0);
      for (const r of order === "old first" ? [old!, young!] : [young!, old!]) {
        s.core.payloadRead(r.token, s.stored.get(r.id), undefined, s.now);
      }
      s.pump();
      assert.deepEqual(s.take(W), ["NO_JOB"], `${order}: the first worker's assignment is stale`);
      assert.deepEqual(s.take(W2), ["JOB_ASSIGN H:t:1\0f\0w1"], order);
      s.send(W2, "WORK_COMPLETE", "H:t:1", "");
      assert.equal(s.status(), "f\t0\t0\t2\n.\n", `${order}: the second worker completes it`);
    }
  });

  test("the same worker taking the job again after its lease ran out gets NO_JOB for the stale grab and the job for the new one, once", () => {
    const s = onDisk(1, { grabForMs: 1000 });
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.advance(1001);
    s.send(W, "GRAB_JOB");
    assert.equal(s.reads.length, 2);
    s.answerReads();
    assert.deepEqual(s.take(W), ["NO_JOB", "JOB_ASSIGN H:t:1\0f\0w1"]);
  });

  test("a failed read fails the job like a failed run: NO_JOB in the held slot, payload_unavailable counted, logged, and the failure log says why", () => {
    const s = onDisk(1);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "ECHO_REQ", "after");
    s.answerReads("disk I/O error");
    assert.deepEqual(s.take(W), ["NO_JOB", "ECHO_RES after"]);
    assert.equal(s.core.view.counters.get("payload_unavailable"), 1);
    const logs = s.takeEffects("log").filter((e) => e.message === "job workload unreadable");
    assert.deepEqual(logs.map((e) => e.fields), [{ handle: "H:t:1", error: "disk I/O error" }]);
    s.autoRead = true; // job show reads the size back too
    const shown = s.admin(A, "job show H:t:1");
    assert.match(shown, /^state\tfailed$/m, "no retry policy: failed for good, into the dead set");
    assert.match(shown, /^failure\t\d+\tworkload unreadable: disk I\/O error$/m);
  });

  test("a failed read follows the function's retry policy: the job runs again after the delay, and then gets its bytes", () => {
    const s = onDisk(1, { retry: { maxRetries: 2, delayMs: 5000, backoff: "fixed", maxDelayMs: 60_000, jitter: 0 } });
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.answerReads("disk I/O error");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"], "not before the retry delay");
    assert.equal(s.reads.length, 0);
    s.advance(5000);
    s.send(W, "GRAB_JOB");
    s.answerReads();
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0w1"]);
  });

  test("a read the store could not be reached for puts the job back untouched: NO_JOB now, no failure, no attempt charged, offered again a second later", () => {
    const s = onDisk(1, { retry: { maxRetries: 1, delayMs: 60_000, backoff: "fixed", maxDelayMs: 60_000, jitter: 0 } });
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.answerReads("cannot reach the PostgreSQL store", undefined, true);
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    assert.equal(s.core.view.counters.get("read_requeued"), 1);
    assert.equal(s.core.view.counters.get("payload_unavailable") ?? 0, 0);
    assert.deepEqual(s.takeEffects("update"), [], "nothing written while the store is away");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"], "not before OUTAGE_RETRY_MS");
    s.advance(1000);
    s.send(W, "GRAB_JOB");
    s.answerReads();
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0w1"], "well before the retry policy's 60 s: it was not a failure");
    s.autoRead = true;
    const shown = s.admin(A, "job show H:t:1");
    assert.doesNotMatch(shown, /^failure\t/m, "no failure-log entry");
    assert.match(shown, /^retries\t0$/m);
  });

  test("a job the store no longer has fails with that reason", () => {
    const s = onDisk(1);
    s.stored.delete(1);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.answerReads();
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    s.autoRead = true;
    assert.match(s.admin(A, "job show H:t:1"), /^data_bytes\t-$/m, "a size the store cannot give");
    assert.match(s.admin(A, "job show H:t:1"), /^failure\t\d+\tworkload unreadable: the store no longer has it$/m);
  });

  test("an answer with an unknown token, or a second answer for the same token, is ignored", () => {
    const s = onDisk(1);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    const [r] = s.reads.splice(0);
    s.core.payloadRead(r!.token + 100, new Uint8Array([1]), undefined, s.now);
    s.pump();
    assert.deepEqual(s.take(W), []);
    s.core.payloadRead(r!.token, s.stored.get(1), undefined, s.now);
    s.core.payloadRead(r!.token, undefined, "late error", s.now);
    s.pump();
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0w1"]);
    assert.equal(s.core.view.counters.get("payload_unavailable"), undefined);
  });

  test("job show reads a stored workload's size back; the admin connection's next reply waits behind it", () => {
    const s = onDisk(1);
    s.open(A);
    s.raw(A, "job show H:t:1\r\nversion\r\n");
    assert.deepEqual(s.take(A), []);
    s.answerReads();
    const text = s.text(A);
    assert.match(text, /^handle\tH:t:1\n/);
    assert.match(text, /^data_bytes\t2$/m);
    assert.ok(text.endsWith(".\nOK 1.2.3\n"), text);
  });

  test("a replayed job whose workload the store left out is read back when taken", () => {
    const s = new CoreSession({ storeReadsPayloads: true, maxPayloadMemory: 0 });
    s.stored.set(7, new Uint8Array([0, 255, 10]));
    s.restore([{
      id: 7,
      handle: "H:old:7",
      function: "f",
      unique: "k",
      data: undefined,
      reducer: "",
      priority: 1,
      runAt: 0,
      createdAt: 0,
      retries: 0,
      failures: [],
      ended: undefined,
    }]);
    s.open(W);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB_UNIQ");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN_UNIQ H:old:7\0f\0k\0\x00\xff\n"], "answered at once by default (autoRead)");
  });
});
