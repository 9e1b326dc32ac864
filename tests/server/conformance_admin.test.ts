/**
 * Conformance scenarios for the admin text protocol and queue limits
 * (docs/protocol.md §6: G32, G33, G35, G39, G40), at the socket level
 * against every available target.
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
  listLines,
  readList,
  statusLine,
  sync,
  useServer,
  waitForStatus,
  withConns,
} from "../helpers/scenario.ts";

const INCOMPLETE = "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+";

/** Submits with `code` and expects either JOB_CREATED (returns the handle) or QUEUE_ERROR (returns undefined). */
async function submit(c: RawConn, code: number, fn: string, unique: string, accepted: boolean): Promise<string | undefined> {
  c.sendPacket(code, fn, unique, "x");
  if (accepted) return await expectCreated(c);
  await expectError(c, "QUEUE_ERROR", "Job queue is full");
  return undefined;
}

/** The function list of the `workers` line whose client id is `id` (undefined if absent). */
async function workerFunctions(admin: RawConn, id: string): Promise<string[] | undefined> {
  const lines = listLines(await admin.adminList("workers"));
  const line = lines.find((l) => l.split(" ")[2] === id);
  if (line === undefined) return undefined;
  const m = /^(\d+) (\S+) (\S+) :(.*)$/.exec(line);
  assert.ok(m, `workers line ${JSON.stringify(line)} has the shape "FD IP ID : f..."`);
  assert.equal(m[2], "127.0.0.1");
  return m[4]!.split(" ").filter(Boolean);
}

for (const target of TARGETS) {
  describe(`conformance: admin and queue limits [${target.name}]`, availability(target), () => {
    const srv = useServer(target);

    test("G32: maxqueue 2 refuses the third job with ERROR QUEUE_ERROR, foreground too, while a duplicate unique still coalesces", () =>
      withConns(srv.port, async function g32MaxQueue(open) {
        const c = await open();
        assert.equal(await c.adminLine("create function g32_fn"), "OK\r\n");
        assert.equal(await c.adminLine("maxqueue g32_fn 2"), "OK\r\n");
        const h1 = await submit(c, Cmd.SUBMIT_JOB_BG, "g32_fn", "g32_u1", true);
        await submit(c, Cmd.SUBMIT_JOB_BG, "g32_fn", "g32_u2", true);
        await submit(c, Cmd.SUBMIT_JOB_BG, "g32_fn", "g32_u3", false);
        await submit(c, Cmd.SUBMIT_JOB, "g32_fn", "g32_u4", false);
        assert.equal(await submit(c, Cmd.SUBMIT_JOB_BG, "g32_fn", "g32_u1", true), h1);
        assert.equal(await statusLine(c, "g32_fn"), "g32_fn\t2\t0\t0");
      }));

    test("G33: maxqueue with per-priority limits 5 1 0 accepts HIGH, refuses NORMAL, accepts LOW (0 = unlimited); a bare maxqueue resets the limits", () =>
      withConns(srv.port, async function g33PriorityLimits(open) {
        const c = await open();
        await submit(c, Cmd.SUBMIT_JOB_BG, "g33_fn", "g33_a", true);
        await submit(c, Cmd.SUBMIT_JOB_BG, "g33_fn", "g33_b", true);
        assert.equal(await c.adminLine("maxqueue g33_fn 5 1 0"), "OK\r\n");
        await submit(c, Cmd.SUBMIT_JOB_HIGH_BG, "g33_fn", "g33_high", true);
        await submit(c, Cmd.SUBMIT_JOB_BG, "g33_fn", "g33_normal", false);
        await submit(c, Cmd.SUBMIT_JOB_LOW_BG, "g33_fn", "g33_low", true);
        assert.equal(await c.adminLine("maxqueue g33_fn"), "OK\r\n");
        await submit(c, Cmd.SUBMIT_JOB_BG, "g33_fn", "g33_after_reset", true);
        assert.equal(await statusLine(c, "g33_fn"), "g33_fn\t5\t0\t0");
      }));

    test("G35: `workers` lists a connection as FD IP CLIENT-ID : functions, and CANT_DO removes one", () =>
      withConns(srv.port, async function g35WorkersListing(open) {
        const admin = await open();
        const w = await open();
        for (const f of ["g35_a", "g35_b", "g35_c"]) w.sendPacket(Cmd.CAN_DO, f);
        w.sendPacket(Cmd.SET_CLIENT_ID, "my-worker-1");
        await sync(w);
        // Order is tolerant: gearmand prints most recent first (c b a).
        assert.deepEqual((await workerFunctions(admin, "my-worker-1"))?.sort(), ["g35_a", "g35_b", "g35_c"]);
        w.sendPacket(Cmd.CANT_DO, "g35_a");
        await sync(w);
        assert.deepEqual((await workerFunctions(admin, "my-worker-1"))?.sort(), ["g35_b", "g35_c"]);
      }));

    test("G39: admin errors and replies have their exact bytes, commands are case-insensitive, and pipelined commands answer in order", () =>
      withConns(srv.port, async function g39AdminText(open) {
        const c = await open();
        assert.match(await c.adminLine("version"), /^OK [^\r\n]+\n$/);
        assert.equal(await c.adminLine("foo"), "ERR UNKNOWN_COMMAND Unknown+server+commandfoo\r\n");
        assert.equal(await c.adminLine("maxqueue"), `${INCOMPLETE}maxqueue\r\n`);
        assert.equal(await c.adminLine("cancel job H:x:1"), "ERR UNKNOWN_JOB\r\n");
        assert.equal(await c.adminLine("show foo"), "ERR UNKNOWN_SHOW_ARGUMENTS\r\n");
        assert.equal(await c.adminLine("create function"), `${INCOMPLETE}create\r\n`);
        assert.equal(await c.adminLine("create function g39_fn"), "OK\r\n");
        const upper = await c.adminList("STATUS");
        assert.ok(listLines(upper).includes("g39_fn\t0\t0\t0"), `STATUS lists g39_fn: ${JSON.stringify(upper)}`);
        c.send("status\nversion\n");
        const pipelined = await readList(c);
        assert.ok(listLines(pipelined).includes("g39_fn\t0\t0\t0"), `status lists g39_fn: ${JSON.stringify(pipelined)}`);
        assert.match(await c.readUntil("\n"), /^OK [^\r\n]+\n$/);
        assert.match(await c.adminLine("version"), /^OK [^\r\n]+\n$/, "the next reply is the next command's: nothing else was sent");
      }));

    test("G40: `cancel job` removes a queued background and a queued foreground job; the waiting client gets WORK_FAIL and neither job is ever assigned", () =>
      withConns(srv.port, async function g40CancelJobs(open) {
        const admin = await open();
        const bg = await open();
        const fg = await open();
        bg.sendPacket(Cmd.SUBMIT_JOB_BG, "g40_fn", "g40_bg", "bg");
        const hb = await expectCreated(bg);
        fg.sendPacket(Cmd.SUBMIT_JOB, "g40_fn", "g40_fg", "fg");
        const hf = await expectCreated(fg);
        assert.equal(await admin.adminLine(`cancel job ${hb}`), "OK\r\n");
        assert.equal(await admin.adminLine(`cancel job ${hf}`), "OK\r\n");
        await expectRes(fg, Cmd.WORK_FAIL, hf);
        const w = await open();
        w.sendPacket(Cmd.CAN_DO, "g40_fn");
        w.sendPacket(Cmd.GRAB_JOB);
        await expectRes(w, Cmd.NO_JOB, "");
        await waitForStatus(admin, "g40_fn", "g40_fn\t0\t0\t1");
        await sync(fg);
        await sync(bg);
      }));

    test("G40: `drop function` is refused while a worker is registered and succeeds once it has gone, removing the function from `status`", () =>
      withConns(srv.port, async function g40DropFunction(open) {
        const admin = await open();
        const w = await open();
        w.sendPacket(Cmd.CAN_DO, "g40d_fn");
        await sync(w);
        assert.equal(await statusLine(admin, "g40d_fn"), "g40d_fn\t0\t0\t1");
        assert.equal(await admin.adminLine("drop function g40d_fn"), "ERR there are still connected workers or executing clients\r\n");
        w.close();
        await waitForStatus(admin, "g40d_fn", "g40d_fn\t0\t0\t0");
        assert.equal(await admin.adminLine("drop function g40d_fn"), "OK\r\n");
        assert.equal(await statusLine(admin, "g40d_fn"), undefined);
      }));
  });
}
