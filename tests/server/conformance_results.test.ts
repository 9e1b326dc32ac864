/**
 * Conformance scenarios for work results, exceptions, worker and client loss,
 * timeouts and retries (docs/protocol.md §6: G21-G31), at the socket level
 * against every available target. The assignment timeouts (G30) run gearbox
 * in process on a manual clock (withTimedConns); gearmand in real time.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Cmd } from "../../src/protocol/commands.ts";
import type { RawConn } from "../helpers/raw_conn.ts";
import { TARGETS } from "../helpers/servers.ts";
import {
  availability,
  expectAllSilent,
  expectCreated,
  expectError,
  expectRes,
  gearboxOnly,
  isGearbox,
  listLines,
  nul,
  sleepingWorker,
  statusLine,
  sync,
  type TestTime,
  text,
  useServer,
  waitForJobStatus,
  waitForStatus,
  withConns,
  withTimedConns,
} from "../helpers/scenario.ts";
import { waitUntil } from "../helpers/wait.ts";

const NOT_FOUND_RESULT = "Job given in work result not found";
const NOT_FOUND_DATA = "Job does not exist on server";
const NOT_FOUND_EXCEPTION = "An exception was received for a job that does not exist";

/** Submits a foreground job from `c` and has `w` (already registered for `fn`) grab it. */
async function runningJob(c: RawConn, w: RawConn, fn: string, data = "work", unique = ""): Promise<string> {
  c.sendPacket(Cmd.SUBMIT_JOB, fn, unique, data);
  const h = await expectCreated(c);
  w.sendPacket(Cmd.GRAB_JOB);
  await expectRes(w, Cmd.JOB_ASSIGN, nul(h, fn, data));
  return h;
}

/** A connection registered for `fn` (processed by the server). */
async function workerFor(open: () => Promise<RawConn>, fn: string): Promise<RawConn> {
  const w = await open();
  w.sendPacket(Cmd.CAN_DO, fn);
  await sync(w);
  return w;
}

for (const target of TARGETS) {
  describe(`conformance: results and failures [${target.name}]`, availability(target), () => {
    const srv = useServer(target);

    /** The job is gone after WORK_EXCEPTION, and the worker's trailing WORK_FAIL is swallowed (gearmand: ERROR). */
    async function endedThenTrailingFail(c: RawConn, w: RawConn, h: string): Promise<void> {
      c.sendPacket(Cmd.GET_STATUS, h);
      await expectRes(c, Cmd.STATUS_RES, nul(h, "0", "0", "0", "0"));
      w.sendPacket(Cmd.WORK_FAIL, h);
      if (isGearbox(target)) await sync(w);
      else await expectError(w, "JOB_NOT_FOUND", NOT_FOUND_RESULT); // gearmand, docs/protocol.md §3.5
      await sync(c);
    }

    test("G21: WORK_EXCEPTION reaches a client without the exceptions option as WORK_FAIL with the bare handle and ends the job; a trailing WORK_FAIL is swallowed", () =>
      withConns(srv.port, async function g21ExceptionDowngraded(open) {
        const c = await open();
        const w = await workerFor(open, "g21a_fn");
        const h = await runningJob(c, w, "g21a_fn");
        w.sendPacket(Cmd.WORK_EXCEPTION, h, "boom");
        const fail = text(await expectRes(c, Cmd.WORK_FAIL));
        if (isGearbox(target)) assert.equal(fail, h);
        else {assert.ok(
            fail === h || fail === `${h}\0`,
            `WORK_FAIL payload ${JSON.stringify(fail)} is h or h\\0 (tolerant, docs/protocol.md §3.5)`,
          );}
        await endedThenTrailingFail(c, w, h);
      }));

    test("G21: after OPTION_REQ exceptions a client receives WORK_EXCEPTION handle\\0data and the job ends", () =>
      withConns(srv.port, async function g21ExceptionForwarded(open) {
        const c = await open();
        c.sendPacket(Cmd.OPTION_REQ, "exceptions");
        await expectRes(c, Cmd.OPTION_RES, "exceptions");
        const w = await workerFor(open, "g21b_fn");
        const h = await runningJob(c, w, "g21b_fn");
        w.sendPacket(Cmd.WORK_EXCEPTION, h, "boom");
        await expectRes(c, Cmd.WORK_EXCEPTION, nul(h, "boom"));
        await endedThenTrailingFail(c, w, h);
      }));

    test("G22: OPTION_REQ is case-insensitive and echoed as sent; an unknown option gets ERROR UNKNOWN_OPTION", () =>
      withConns(srv.port, async function g22OptionRequests(open) {
        const c = await open();
        c.sendPacket(Cmd.OPTION_REQ, "EXCEPTIONS");
        await expectRes(c, Cmd.OPTION_RES, "EXCEPTIONS");
        c.sendPacket(Cmd.OPTION_REQ, "bogus");
        await expectError(c, "UNKNOWN_OPTION", "Server does not recognize given option");
        c.sendPacket(Cmd.ECHO_REQ, "after");
        await expectRes(c, Cmd.ECHO_RES, "after");
      }));

    test("G23: every WORK_* packet for an unknown handle gets ERROR JOB_NOT_FOUND with its documented text", () =>
      withConns(srv.port, async function g23UnknownHandle(open) {
        const w = await workerFor(open, "g23_fn");
        const bogus = "H:bogus:1";
        const cases: [number, string[], string][] = [
          [Cmd.WORK_COMPLETE, [bogus, "r"], NOT_FOUND_RESULT],
          [Cmd.WORK_FAIL, [bogus], NOT_FOUND_RESULT],
          [Cmd.WORK_STATUS, [bogus, "1", "2"], NOT_FOUND_RESULT],
          [Cmd.WORK_DATA, [bogus, "d"], NOT_FOUND_DATA],
          [Cmd.WORK_WARNING, [bogus, "w"], NOT_FOUND_DATA],
          [Cmd.WORK_EXCEPTION, [bogus, "e"], NOT_FOUND_EXCEPTION],
        ];
        for (const [code, args, message] of cases) {
          w.sendPacket(code, ...args);
          await expectError(w, "JOB_NOT_FOUND", message);
        }
      }));

    test("G24: WORK_COMPLETE from a worker that does not hold the job gets ERROR JOB_NOT_FOUND; the client sees only the owner's result", () =>
      withConns(srv.port, async function g24ForeignCompletion(open) {
        const c = await open();
        const w1 = await workerFor(open, "g24_fn");
        const w2 = await workerFor(open, "g24_fn");
        const h = await runningJob(c, w1, "g24_fn");
        w2.sendPacket(Cmd.WORK_COMPLETE, h, "from w2");
        await expectError(w2, "JOB_NOT_FOUND", NOT_FOUND_RESULT);
        w1.sendPacket(Cmd.WORK_COMPLETE, h, "from w1");
        await expectRes(c, Cmd.WORK_COMPLETE, nul(h, "from w1"));
        await sync(c);
      }));

    test("G25: WORK_FAIL on a foreground job reaches the client as WORK_FAIL with the handle and the job leaves `status`", () =>
      withConns(srv.port, async function g25WorkFail(open) {
        const admin = await open();
        const c = await open();
        const w = await workerFor(open, "g25_fn");
        const h = await runningJob(c, w, "g25_fn");
        assert.equal(await statusLine(admin, "g25_fn"), "g25_fn\t1\t1\t1");
        w.sendPacket(Cmd.WORK_FAIL, h);
        await expectRes(c, Cmd.WORK_FAIL, h);
        await sync(w);
        assert.equal(await statusLine(admin, "g25_fn"), "g25_fn\t0\t0\t1");
      }));

    test("G26: a job whose worker disconnects is requeued silently with progress reset and retries 1, and the next worker's result reaches the client", () =>
      withConns(srv.port, async function g26RequeueOnWorkerLoss(open) {
        const admin = await open();
        const c = await open();
        const w1 = await workerFor(open, "g26_fn");
        const h = await runningJob(c, w1, "g26_fn", "payload");
        w1.sendPacket(Cmd.WORK_STATUS, h, "5", "10");
        await expectRes(c, Cmd.WORK_STATUS, nul(h, "5", "10"));
        const w2 = await sleepingWorker(open, "g26_fn");
        w1.close();
        await expectRes(w2, Cmd.NOOP, "");
        admin.sendPacket(Cmd.GET_STATUS, h);
        await expectRes(admin, Cmd.STATUS_RES, nul(h, "1", "0", "0", "0"));
        const jobs = listLines(await admin.adminList("show jobs"));
        const line = jobs.find((l) => l.startsWith(`${h}\t`));
        assert.ok(line, `show jobs lists ${h}: ${JSON.stringify(jobs)}`);
        assert.equal(line.split("\t")[1], "1", `retries column of ${JSON.stringify(line)}`);
        w2.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w2, Cmd.JOB_ASSIGN, nul(h, "g26_fn", "payload"));
        w2.sendPacket(Cmd.WORK_COMPLETE, h, "by w2");
        await expectRes(c, Cmd.WORK_COMPLETE, nul(h, "by w2"));
        await sync(c);
      }));

    test("G26: a requeued job goes behind the jobs already queued at its priority", () =>
      withConns(srv.port, async function g26RequeueAtTail(open) {
        const c = await open();
        const w1 = await workerFor(open, "g26b_fn");
        const h1 = await runningJob(c, w1, "g26b_fn", "j1");
        c.sendPacket(Cmd.SUBMIT_JOB, "g26b_fn", "", "j2");
        const h2 = await expectCreated(c);
        c.sendPacket(Cmd.SUBMIT_JOB, "g26b_fn", "", "j3");
        const h3 = await expectCreated(c);
        w1.close();
        await waitForJobStatus(c, h1, nul(h1, "1", "0", "0", "0"));
        const w2 = await workerFor(open, "g26b_fn");
        for (const [h, data] of [[h2, "j2"], [h3, "j3"], [h1, "j1"]] as const) {
          w2.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w2, Cmd.JOB_ASSIGN, nul(h, "g26b_fn", data));
        }
        for (const h of [h1, h2, h3]) w2.sendPacket(Cmd.WORK_COMPLETE, h, "");
        await sync(w2);
      }));

    test("G28: a foreground job whose client disconnected while it was queued is never assigned and leaves `status`", () =>
      withConns(srv.port, async function g28AbandonedNeverRuns(open) {
        const admin = await open();
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB, "g28_fn", "", "orphan");
        const h = await expectCreated(c);
        c.close();
        const w = await open();
        w.sendPacket(Cmd.CAN_DO, "g28_fn");
        w.sendPacket(Cmd.PRE_SLEEP);
        await sync(w);
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.NO_JOB, "");
        await waitForStatus(admin, "g28_fn", "g28_fn\t0\t0\t1");
        admin.sendPacket(Cmd.GET_STATUS, h);
        await expectRes(admin, Cmd.STATUS_RES, nul(h, "0", "0", "0", "0"));
      }));

    test(
      "G28: an abandoned queued foreground job is dropped at once (status total 0 within 100 ms of the disconnect)",
      gearboxOnly(
        target,
        "documented gearmand 1.1.20 behaviour (docs/protocol.md §3.8, G28): the abandoned job is only reaped when a worker polls",
      ),
      () =>
        withConns(srv.port, async function g28DroppedAtOnce(open) {
          const admin = await open();
          const c = await open();
          c.sendPacket(Cmd.SUBMIT_JOB, "g28b_fn", "", "orphan");
          await expectCreated(c);
          assert.equal(await statusLine(admin, "g28b_fn"), "g28b_fn\t1\t0\t0");
          c.close();
          await waitForStatus(admin, "g28b_fn", "g28b_fn\t0\t0\t0", 150);
        }),
    );

    test("G29: results for a running job whose client disconnected are accepted silently and the job leaves `status`", () =>
      withConns(srv.port, async function g29ClientGoneWhileRunning(open) {
        const admin = await open();
        const c = await open();
        const w = await workerFor(open, "g29_fn");
        const h = await runningJob(c, w, "g29_fn", "work", "g29_u");
        c.close();
        // The job keeps running with no client waiting once the close is processed.
        await waitUntil("the client's close to be processed", async () => {
          admin.sendPacket(Cmd.GET_STATUS_UNIQUE, "g29_u");
          return text(await expectRes(admin, Cmd.STATUS_RES_UNIQUE)) === nul("g29_u", "1", "1", "0", "0", "0");
        });
        w.sendPacket(Cmd.WORK_DATA, h, "partial");
        w.sendPacket(Cmd.WORK_COMPLETE, h, "done");
        await sync(w);
        assert.equal(await statusLine(admin, "g29_fn"), "g29_fn\t0\t0\t1");
      }));

    /** G30's setup: W1 holds a job under CAN_DO_TIMEOUT 1000 and stalls; W2 sleeps on the same function. */
    async function stalledJob(open: () => Promise<RawConn>, fn: string, time: TestTime) {
      const c = await open();
      const w1 = await open();
      w1.sendPacket(Cmd.CAN_DO_TIMEOUT, fn, "1000");
      await sync(w1);
      const h = await runningJob(c, w1, fn, "slow");
      const assignedAt = time.now();
      const w2 = await sleepingWorker(open, fn);
      return { c, w1, w2, h, assignedAt };
    }

    test(
      "G30: a CAN_DO_TIMEOUT of 1000 ms requeues a stalled job after about 1 s; the late result gets JOB_NOT_FOUND and the second worker's result reaches the client",
      { timeout: 15_000 },
      () =>
        withTimedConns(target, srv.port, async function g30AssignmentTimeout(open, time) {
          const watcher = await open();
          const { c, w1, w2, h, assignedAt } = await stalledJob(open, "g30_fn", time);
          await time.pass(assignedAt + 1000 - time.now());
          await waitForJobStatus(watcher, h, nul(h, "1", "0", "0", "0"), 4000);
          const waited = time.now() - assignedAt;
          assert.ok(waited >= 900 && waited <= 3000, `requeued after ${waited} ms, expected about 1000`);
          await expectRes(w2, Cmd.NOOP, "");
          w2.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w2, Cmd.JOB_ASSIGN, nul(h, "g30_fn", "slow"));
          w1.sendPacket(Cmd.WORK_COMPLETE, h, "late");
          await expectError(w1, "JOB_NOT_FOUND", NOT_FOUND_RESULT);
          await sync(c);
          w2.sendPacket(Cmd.WORK_COMPLETE, h, "on time");
          await expectRes(c, Cmd.WORK_COMPLETE, nul(h, "on time"));
          await sync(c);
        }),
    );

    test(
      "G30: the assignment timeout itself wakes the sleeping worker: NOOP about 1 s after the assignment with no other traffic",
      {
        timeout: 15_000,
        ...gearboxOnly(
          target,
          "gearmand 1.1.20 run with --threads=0 (as the harness starts it) requeues on time but flushes the NOOP only when other traffic arrives; see docs/protocol.md §3.7",
        ),
      },
      () =>
        withTimedConns(target, srv.port, async function g30TimeoutWakes(open, time) {
          const { c, w1, w2, h, assignedAt } = await stalledJob(open, "g30b_fn", time);
          await time.pass(assignedAt + 999 - time.now());
          await sync(w2); // no NOOP before the timeout
          await time.pass(1);
          await expectRes(w2, Cmd.NOOP, "", 4000);
          const waited = time.now() - assignedAt;
          assert.ok(waited >= 900 && waited <= 3000, `woken after ${waited} ms, expected about 1000`);
          w2.sendPacket(Cmd.GRAB_JOB);
          await expectRes(w2, Cmd.JOB_ASSIGN, nul(h, "g30b_fn", "slow"));
          w2.sendPacket(Cmd.WORK_COMPLETE, h, "on time");
          await expectRes(c, Cmd.WORK_COMPLETE, nul(h, "on time"));
          await sync(w1);
        }),
    );

    for (const how of ["CANT_DO", "RESET_ABILITIES"] as const) {
      const fn = how === "CANT_DO" ? "g31_fn" : "g31r_fn";
      test(`G31: ${how} from the worker holding a job requeues it and its later WORK_COMPLETE gets JOB_NOT_FOUND`, () =>
        withConns(srv.port, async function g31DropAbilityRequeues(open) {
          const admin = await open();
          const c = await open();
          const w = await workerFor(open, fn);
          const h = await runningJob(c, w, fn);
          if (how === "CANT_DO") w.sendPacket(Cmd.CANT_DO, fn);
          else w.sendPacket(Cmd.RESET_ABILITIES);
          await sync(w);
          assert.equal(await statusLine(admin, fn), `${fn}\t1\t0\t0`);
          w.sendPacket(Cmd.WORK_COMPLETE, h, "too late");
          await expectError(w, "JOB_NOT_FOUND", NOT_FOUND_RESULT);
          await sync(c);
        }));
    }
  });

  describe(`conformance: server-wide exceptions [${target.name}]`, availability(target), () => {
    const srv = useServer(target, { exceptions: true });

    test("G22: with the server's exceptions flag a client that sent no OPTION_REQ receives WORK_EXCEPTION", () =>
      withConns(srv.port, async function g22ServerWideExceptions(open) {
        const c = await open();
        const w = await workerFor(open, "g22_fn");
        const h = await runningJob(c, w, "g22_fn");
        w.sendPacket(Cmd.WORK_EXCEPTION, h, "boom");
        await expectRes(c, Cmd.WORK_EXCEPTION, nul(h, "boom"));
      }));
  });

  describe(`conformance: job retries [${target.name}]`, availability(target), () => {
    const srv = useServer(target, { jobRetries: 2 });

    /** Two workers in turn grab the job and disconnect; returns once the second loss is processed. */
    async function loseTwice(open: () => Promise<RawConn>, watcher: RawConn, fn: string, h: string, data: string) {
      const w1 = await workerFor(open, fn);
      w1.sendPacket(Cmd.GRAB_JOB);
      await expectRes(w1, Cmd.JOB_ASSIGN, nul(h, fn, data));
      w1.close();
      await waitForJobStatus(watcher, h, nul(h, "1", "0", "0", "0"));
      const w2 = await workerFor(open, fn);
      w2.sendPacket(Cmd.GRAB_JOB);
      await expectRes(w2, Cmd.JOB_ASSIGN, nul(h, fn, data));
      w2.close();
    }

    test("G27: with job-retries 2 a foreground job is failed to its client after the second worker loss and never offered again", () =>
      withConns(srv.port, async function g27RetryLimitForeground(open) {
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB, "g27_fn", "", "fragile");
        const h = await expectCreated(c);
        const watcher = await open();
        await loseTwice(open, watcher, "g27_fn", h, "fragile");
        await expectRes(c, Cmd.WORK_FAIL, h);
        const w3 = await workerFor(open, "g27_fn");
        w3.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w3, Cmd.NO_JOB, "");
        await sync(c);
      }));

    test("G27: with job-retries 2 a background job disappears silently after the second worker loss", () =>
      withConns(srv.port, async function g27RetryLimitBackground(open) {
        const admin = await open();
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g27b_fn", "", "fragile");
        const h = await expectCreated(c);
        await loseTwice(open, admin, "g27b_fn", h, "fragile");
        await waitForJobStatus(admin, h, nul(h, "0", "0", "0", "0"));
        const w3 = await workerFor(open, "g27b_fn");
        w3.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w3, Cmd.NO_JOB, "");
        await waitForStatus(admin, "g27b_fn", "g27b_fn\t0\t0\t1");
        await expectAllSilent([c]);
      }));
  });
}
