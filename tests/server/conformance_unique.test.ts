/**
 * Conformance scenarios for unique-id coalescing and handle assignment
 * (docs/protocol.md §6: G13-G20), at the socket level against every
 * available target.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Cmd } from "../../src/protocol/commands.ts";
import type { RawConn } from "../helpers/raw_conn.ts";
import { TARGETS } from "../helpers/servers.ts";
import {
  availability,
  expectCreated,
  expectError,
  expectRes,
  handleNumber,
  nul,
  priorityLine,
  sleepingWorker,
  statusLine,
  sync,
  useServer,
  withConns,
} from "../helpers/scenario.ts";

/**
 * G13's setup: a sleeping worker on `fn`; C1 and C2 submit foreground jobs
 * with the same unique; the worker is woken once and grabs C1's job.
 */
async function coalescedRunning(open: () => Promise<RawConn>, fn: string, unique: string) {
  const w = await sleepingWorker(open, fn);
  const c1 = await open();
  const c2 = await open();
  c1.sendPacket(Cmd.SUBMIT_JOB, fn, unique, "data1");
  const h = await expectCreated(c1);
  c2.sendPacket(Cmd.SUBMIT_JOB, fn, unique, "data2");
  assert.equal(await expectCreated(c2), h, "the second submission joins the first job");
  await expectRes(w, Cmd.NOOP, "");
  await sync(w);
  w.sendPacket(Cmd.GRAB_JOB);
  await expectRes(w, Cmd.JOB_ASSIGN, nul(h, fn, "data1"));
  return { w, c1, c2, h };
}

for (const target of TARGETS) {
  describe(`conformance: unique ids and handles [${target.name}]`, availability(target), () => {
    const srv = useServer(target);

    test("G13: two foreground submissions with one unique share a handle, run once with the first data, and both clients get WORK_DATA and WORK_COMPLETE", () =>
      withConns(srv.port, async function g13CoalesceForeground(open) {
        const { w, c1, c2, h } = await coalescedRunning(open, "g13_fn", "g13_same");
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.NO_JOB, "");
        w.sendPacket(Cmd.WORK_DATA, h, "part");
        w.sendPacket(Cmd.WORK_COMPLETE, h, "done");
        for (const c of [c1, c2]) {
          await expectRes(c, Cmd.WORK_DATA, nul(h, "part"));
          await expectRes(c, Cmd.WORK_COMPLETE, nul(h, "done"));
        }
        await sync(w);
      }));

    test("G14: a third client joining a running coalesced job gets its handle, GET_STATUS_UNIQUE counts three waiting clients, and all three get WORK_COMPLETE", () =>
      withConns(srv.port, async function g14JoinRunningJob(open) {
        const { w, c1, c2, h } = await coalescedRunning(open, "g14_fn", "same");
        const c3 = await open();
        c3.sendPacket(Cmd.SUBMIT_JOB, "g14_fn", "same", "data3");
        assert.equal(await expectCreated(c3), h);
        c3.sendPacket(Cmd.GET_STATUS_UNIQUE, "same");
        await expectRes(c3, Cmd.STATUS_RES_UNIQUE, nul("same", "1", "1", "0", "0", "3"));
        w.sendPacket(Cmd.WORK_COMPLETE, h, "all");
        for (const c of [c1, c2, c3]) await expectRes(c, Cmd.WORK_COMPLETE, nul(h, "all"));
      }));

    test("G15: once a coalesced job has finished, the same unique creates a new job with a new handle", () =>
      withConns(srv.port, async function g15UniqueFreedAfterCompletion(open) {
        const { w, c1, c2, h } = await coalescedRunning(open, "g15_fn", "g15_same");
        w.sendPacket(Cmd.WORK_COMPLETE, h, "first");
        await expectRes(c1, Cmd.WORK_COMPLETE, nul(h, "first"));
        await expectRes(c2, Cmd.WORK_COMPLETE, nul(h, "first"));
        c1.sendPacket(Cmd.SUBMIT_JOB, "g15_fn", "g15_same", "again");
        const h2 = await expectCreated(c1);
        assert.notEqual(h2, h);
        assert.ok(handleNumber(h2) > handleNumber(h), `${h2} comes after ${h}`);
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.JOB_ASSIGN, nul(h2, "g15_fn", "again"));
        w.sendPacket(Cmd.WORK_COMPLETE, h2, "second");
        await expectRes(c1, Cmd.WORK_COMPLETE, nul(h2, "second"));
        await sync(c2);
      }));

    test("G16: background resubmissions of one unique (also at HIGH) share one job without changing its priority; another function gets a new handle", () =>
      withConns(srv.port, async function g16CoalesceBackground(open) {
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g16_fn", "bgu", "x");
        const h = await expectCreated(c);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g16_fn", "bgu", "x");
        assert.equal(await expectCreated(c), h);
        c.sendPacket(Cmd.SUBMIT_JOB_HIGH_BG, "g16_fn", "bgu", "x");
        assert.equal(await expectCreated(c), h);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g16_other", "bgu", "x");
        assert.notEqual(await expectCreated(c), h);
        assert.equal(await statusLine(c, "g16_fn"), "g16_fn\t1\t0\t0");
        assert.equal(await priorityLine(c, "g16_fn"), "g16_fn\t0\t1\t0\t0");
      }));

    test("G17: a foreground submission matching a queued background job gets its handle and its WORK_COMPLETE; the background submitter gets nothing", () =>
      withConns(srv.port, async function g17ForegroundJoinsBackground(open) {
        const bg = await open();
        const c2 = await open();
        const w = await open();
        bg.sendPacket(Cmd.SUBMIT_JOB_BG, "g17_fn", "g17_bgu", "bgdata");
        const h = await expectCreated(bg);
        c2.sendPacket(Cmd.SUBMIT_JOB, "g17_fn", "g17_bgu", "fgdata");
        assert.equal(await expectCreated(c2), h);
        w.sendPacket(Cmd.CAN_DO, "g17_fn");
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.JOB_ASSIGN, nul(h, "g17_fn", "bgdata"));
        w.sendPacket(Cmd.WORK_COMPLETE, h, "r");
        await expectRes(c2, Cmd.WORK_COMPLETE, nul(h, "r"));
        await sync(bg);
      }));

    test("G18: an empty unique never coalesces; the unique `-` coalesces equal workloads only", () =>
      withConns(srv.port, async function g18EmptyAndDashUniques(open) {
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g18_fn", "", "x");
        const e1 = await expectCreated(c);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g18_fn", "", "x");
        const e2 = await expectCreated(c);
        assert.notEqual(e1, e2, "empty uniques make two jobs");
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g18_fn", "-", "samedata");
        const d1 = await expectCreated(c);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g18_fn", "-", "samedata");
        assert.equal(await expectCreated(c), d1, "`-` with equal data coalesces");
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g18_fn", "-", "otherdata");
        const d2 = await expectCreated(c);
        assert.equal(new Set([e1, e2, d1, d2]).size, 4, "`-` with other data is a new job");
      }));

    test("G19: a 64-byte unique is accepted, a 65-byte one gets ERROR ARGUMENT_TOO_LARGE and the connection stays usable", () =>
      withConns(srv.port, async function g19UniqueLengthLimit(open) {
        const c = await open();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g19_fn", "u".repeat(64), "x");
        await expectCreated(c);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "g19_fn", "v".repeat(65), "x");
        await expectError(c, "ARGUMENT_TOO_LARGE", "Unique value too large");
        c.sendPacket(Cmd.ECHO_REQ, "after");
        await expectRes(c, Cmd.ECHO_RES, "after");
      }));

    test("G20: handle numbers grow by one per new job and a coalesced submission reuses its number (n, n+1, n+2, n, n+3)", () =>
      withConns(srv.port, async function g20HandleCounter(open) {
        const c = await open();
        const numbers: number[] = [];
        for (const u of ["h0", "h1", "h2", "h0", "h9"]) {
          c.sendPacket(Cmd.SUBMIT_JOB_BG, "g20_fn", `g20_${u}`, "x");
          numbers.push(handleNumber(await expectCreated(c)));
        }
        const n = numbers[0]!;
        assert.deepEqual(numbers, [n, n + 1, n + 2, n, n + 3]);
      }));
  });
}
