/**
 * Bulk admin work in slices (src/core/bulk_work.ts), driven by hand as the
 * edge drives it one loop turn at a time: a reply that does not fit in one
 * slice is held, later replies of the same connection wait behind it, other
 * connections are answered meanwhile, and jobs that move during a purge are
 * each counted once.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CoreSession } from "../helpers/core_session.ts";

const C = 1, W = 2, A = 3, B = 4;

function submitted(s: CoreSession, fn: string, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) s.send(C, "SUBMIT_JOB_BG", fn, `u${i}`, `w${i}`);
  s.take(C);
}

/** Steps until the bulk work is done; returns how many steps it took. */
function finish(s: CoreSession): number {
  let steps = 0;
  while (s.continueBulk()) steps++;
  return steps + 1;
}

describe("core session: bulk admin work in slices", () => {
  test("a purge longer than one slice answers only when every slice is done, and exactly the function's waiting jobs are gone", () => {
    const s = new CoreSession({ adminSlice: 10 });
    s.open(C, A);
    submitted(s, "f", 95);
    submitted(s, "g", 5, 1000);
    assert.equal(s.admin(A, "job purge f"), "", "the reply waits for the slices");
    assert.ok(s.core.busy(A));
    const steps = finish(s);
    assert.equal(steps, 10, "100 jobs visited, 10 per slice, the first slice at once");
    assert.equal(s.text(A), "OK 95\n");
    assert.equal(s.core.busy(A), false);
    assert.equal(s.admin(A, "status"), "f\t0\t0\t0\ng\t5\t0\t0\n.\n");
    assert.equal(s.effects.filter((e) => e.kind === "forget").length, 95, "one store delete per purged job");
  });

  test("a later request of the same connection is answered after the held reply, another connection's at once", () => {
    const s = new CoreSession({ adminSlice: 10 });
    s.open(C, A, B);
    submitted(s, "f", 50);
    assert.equal(s.admin(A, "job purge f"), "");
    assert.equal(s.admin(A, "version"), "", "held behind the purge's reply");
    assert.equal(s.admin(B, "version"), "OK 1.2.3\n", "others are not held");
    finish(s);
    assert.equal(s.text(A), "OK 50\nOK 1.2.3\n");
  });

  test("jobs that move during a purge: a grabbed job keeps running, a job submitted meanwhile is kept, each purged job is counted once", () => {
    const s = new CoreSession({ adminSlice: 10 });
    s.open(C, W, A);
    submitted(s, "f", 100);
    assert.equal(s.admin(A, "job purge f"), "");
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    const [assigned] = s.packets(W).filter((p) => p.name === "JOB_ASSIGN");
    assert.ok(assigned, "the worker got a job during the purge");
    submitted(s, "f", 3, 500);
    finish(s);
    const n = Number(s.text(A).slice(3));
    assert.equal(n, 99, "all but the grabbed one; the 3 new jobs are kept");
    assert.equal(s.admin(A, "status"), "f\t4\t1\t1\n.\n", "the running job and the 3 new ones");
    assert.equal(s.effects.filter((e) => e.kind === "forget").length, n);
  });

  test("status over more functions than a slice is byte for byte the one-piece listing, and a function dropped meanwhile is left out", () => {
    const names = Array.from({ length: 35 }, (_, i) => `fn_${String(i).padStart(2, "0")}`);
    const s = new CoreSession({ adminSlice: 10 });
    s.open(A, B);
    for (const n of [...names].reverse()) assert.equal(s.admin(A, `create function ${n}`), "OK\r\n");
    assert.equal(s.admin(A, "status"), "");
    assert.equal(s.admin(B, "drop function fn_34"), "OK\r\n");
    finish(s);
    assert.equal(s.text(A), names.slice(0, 34).map((n) => `${n}\t0\t0\t0\n`).join("") + ".\n");
  });

  test("job retry all over more failed jobs than a slice revives each once, and a listing of a closed connection is given up", () => {
    const s = new CoreSession({ adminSlice: 4 });
    s.open(C, W, A, B);
    submitted(s, "f", 9);
    s.send(W, "CAN_DO", "f");
    for (let i = 0; i < 9; i++) {
      s.send(W, "GRAB_JOB");
      const job = s.packets(W).find((p) => p.name === "JOB_ASSIGN")!;
      s.send(W, "WORK_FAIL", job.args[0]!);
    }
    assert.equal(s.admin(A, "job retry all"), "");
    finish(s);
    assert.equal(s.text(A), "OK 9\n");
    assert.equal(s.admin(A, "status"), "f\t9\t0\t1\n.\n");
    assert.equal(s.admin(B, "show jobs"), "");
    s.close(B);
    finish(s);
    assert.equal(s.core.view.bulk.pending, 0);
  });
});
