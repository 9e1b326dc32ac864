/**
 * docs/reliability.md b45–b47: no connection can starve the others of
 * function records or hold jobs without bound. A refused CAN_DO or SUBMIT
 * makes nothing; function records nobody uses any more make room for new
 * ones; a connection's outstanding jobs and uniques are capped. Each case
 * runs under the probe (R1 loop, R2 bystander, R3 store).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect } from "node:net";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { expectError } from "../helpers/inproc.ts";
import { withProbe } from "../helpers/probe.ts";
import { waitUntil } from "../helpers/wait.ts";

const BURST = 100_000;
const PER_CONNECTION = 1024;

/** Sends `names` as CAN_DO in one write, then an echo; resolves once the echo came back (every reply before it). */
async function registerAll(c: RawConn, names: readonly string[], marker: string): Promise<void> {
  c.send(Buffer.concat([...names.map((n) => packet(Cmd.CAN_DO, n)), packet(Cmd.ECHO_REQ, marker)]));
  await c.readUntil(marker, 30_000);
}

/**
 * Writes `bytes` on a plain socket and reads exactly `n` reply bytes without
 * keeping them (megabytes of ERROR, parsed by nobody: the test's own work
 * runs on the loop it measures); resolves with the last 64.
 */
async function writeAndDrain(port: number, bytes: Uint8Array, n: number): Promise<Buffer> {
  const sock = connect({ port, host: "127.0.0.1" });
  await new Promise<void>((r) => sock.once("connect", () => r()));
  const tail = await new Promise<Buffer>((resolve, reject) => {
    let got = 0;
    let last = Buffer.alloc(0);
    const t = setTimeout(() => reject(new Error(`got ${got} of ${n} bytes`)), 30_000);
    sock.on("data", (d: Buffer) => {
      got += d.length;
      last = Buffer.concat([last, d]).subarray(-64);
      if (got >= n) {
        clearTimeout(t);
        resolve(last);
      }
    });
    sock.write(bytes);
  });
  sock.destroy();
  return tail;
}

/** The function names admin `status` lists (one read of the whole listing: 100,000 rows line by line is the test's own stall). */
async function listed(c: RawConn): Promise<Set<string>> {
  c.send("status\r\n");
  const text = await c.readUntil("\n.\n", 30_000);
  return new Set(text.split("\n").filter((l) => l.includes("\t")).map((l) => l.split("\t")[0]!));
}

/** A worker of `fn` gets the job a client submits: the function works. */
async function functionWorks(port: number, fn: string): Promise<void> {
  const w = await RawConn.connect(port);
  const c = await RawConn.connect(port);
  w.sendPacket(Cmd.CAN_DO, fn);
  c.sendPacket(Cmd.SUBMIT_JOB, fn, "", "payload");
  const handle = (await c.expectPacket(Cmd.JOB_CREATED)).args[0]!;
  w.sendPacket(Cmd.GRAB_JOB);
  const assigned = await w.expectPacket(Cmd.JOB_ASSIGN);
  assert.equal(assigned.args[0], handle);
  w.sendPacket(Cmd.WORK_COMPLETE, handle, "done");
  assert.equal((await c.expectPacket(Cmd.WORK_COMPLETE)).args[1], "done");
  w.close();
  c.close();
}

describe("hostile functions: records and quotas", () => {
  test(
    "b45: 100,000 CAN_DO on one connection make only its 1,024 records, and another connection's new function still works with max_functions one above that",
    { timeout: 60_000 },
    () =>
      withProbe({ maxFunctions: PER_CONNECTION + 1 }, async (p) => {
        const burst = Buffer.concat([
          ...Array.from({ length: BURST }, (_, i) => packet(Cmd.CAN_DO, `burst_${i}`)),
          packet(Cmd.ECHO_REQ, "last"),
        ]);
        const errorBytes = packet(Cmd.ERROR, "TOO_MANY_FUNCTIONS", "Connection registered too many functions").length;
        const replyBytes = (BURST - PER_CONNECTION) * errorBytes + packet(Cmd.ECHO_RES, "last").length;
        p.measureFromHere();
        const tail = await writeAndDrain(p.port, burst, replyBytes);
        assert.equal(tail.subarray(-4).toString(), "last", "every CAN_DO was answered before the echo behind them");
        assert.equal(p.delta("too_many_abilities"), BURST - PER_CONNECTION, "every CAN_DO past the quota is refused");
        assert.equal(p.delta("function_table_full"), 0, "none was refused for a full table");
        const admin = await RawConn.connect(p.port);
        // The hostile connection closed: its 1,024 records stay listed (as gearmand's do), none more.
        assert.equal((await listed(admin)).size, PER_CONNECTION, "a refused CAN_DO makes no record");
        await functionWorks(p.port, "bystander_fn");
        assert.equal((await listed(admin)).size, PER_CONNECTION + 1);
        admin.close();
      }),
  );

  test(
    "b46: 100,000 functions registered by connections that then closed stay listed, and a new function at max_functions takes the place of the one idle longest",
    { timeout: 60_000 },
    () =>
      withProbe({ maxFunctions: BURST }, async (p) => {
        for (let from = 0; from < BURST; from += 1000) {
          const w = await RawConn.connect(p.port);
          await registerAll(w, Array.from({ length: 1000 }, (_, i) => `gone_${from + i}`), `batch ${from}`);
          w.close();
        }
        const admin = await RawConn.connect(p.port);
        // Closing is seen by the server a little later: wait for the last worker to leave.
        for (let i = 0; i < 100 && (await admin.adminList("workers", 5000)).split("\n").length > 3; i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(p.server.core.view.functions.size, BURST, "the table is full of idle records");
        p.measureFromHere();
        await functionWorks(p.port, "fresh_fn");
        assert.equal(p.delta("functions_reclaimed"), 1);
        assert.equal(p.delta("function_table_full"), 0);
        // The table itself, not a 100,000-row listing: parsing that would be this test's own stall on the measured loop.
        const names = p.server.core.view.functions;
        assert.equal(names.size, BURST, "one record made room for one");
        // The first connection to close left its records idle first: one of them made room.
        const gone = Array.from({ length: 1000 }, (_, i) => `gone_${i}`).filter((n) => !names.has(n));
        assert.equal(gone.length, 1, "one record of the first closed connection was reclaimed");
        assert.ok(names.has(`gone_${BURST - 1}`) && names.has("fresh_fn"));
        // A submission to a new name reclaims too (the table is full again).
        const c = await RawConn.connect(p.port);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "another_new_fn", "", "x");
        await c.expectPacket(Cmd.JOB_CREATED);
        assert.equal(p.delta("functions_reclaimed"), 2);
        c.close();
        admin.close();
      }, { storeSize: 1 }),
  );

  test(
    "b46: when every record is in use (a worker, a job, a maxqueue or create function) a new function is refused and nothing is made",
    { timeout: 30_000 },
    () =>
      withProbe({ maxFunctions: 4 }, async (p) => {
        const w = await RawConn.connect(p.port);
        const admin = await RawConn.connect(p.port);
        const c = await RawConn.connect(p.port);
        w.sendPacket(Cmd.CAN_DO, "has_worker");
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "has_job", "", "x");
        await c.expectPacket(Cmd.JOB_CREATED);
        assert.equal(await admin.adminLine("maxqueue has_limit 5"), "OK\r\n");
        assert.equal(await admin.adminLine("create function made_by_admin"), "OK\r\n");
        w.sendPacket(Cmd.CAN_DO, "one_too_many");
        await expectError(w, "QUEUE_ERROR", "Too many functions");
        c.sendPacket(Cmd.SUBMIT_JOB, "also_too_many", "", "x");
        await expectError(c, "QUEUE_ERROR", "Too many functions");
        assert.equal(await admin.adminLine("create function third_too_many"), "ERR QUEUE_ERROR Too+many+functions\r\n");
        assert.deepEqual([...(await listed(admin))].sort(), ["has_job", "has_limit", "has_worker", "made_by_admin"]);
        assert.equal(p.delta("functions_reclaimed"), 0);
        // The worker leaves: its record is idle now, and the next new function takes its place.
        w.close();
        const w2 = await RawConn.connect(p.port);
        for (let i = 0; i < 100 && p.server.core.view.functions.get("has_worker")!.workers.length > 0; i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        w2.sendPacket(Cmd.CAN_DO, "now_fits");
        w2.sendPacket(Cmd.ECHO_REQ, "sync");
        await w2.expectPacket(Cmd.ECHO_RES);
        assert.deepEqual([...(await listed(admin))].sort(), ["has_job", "has_limit", "made_by_admin", "now_fits"]);
        assert.equal(p.delta("functions_reclaimed"), 1);
        for (const x of [w2, admin, c]) x.close();
      }, { storeSize: 1 }),
  );

  test(
    "b47: past max_jobs_per_connection a submission gets ERROR TOO_MANY_JOBS, makes nothing and the connection goes on; a finished job frees its place",
    { timeout: 30_000 },
    () =>
      withProbe({ maxJobsPerConnection: 3 }, async (p) => {
        const c = await RawConn.connect(p.port);
        const handles: string[] = [];
        for (let i = 0; i < 3; i++) {
          c.sendPacket(Cmd.SUBMIT_JOB, "quota_fn", "", `job ${i}`);
          handles.push((await c.expectPacket(Cmd.JOB_CREATED)).args[0]!);
        }
        c.sendPacket(Cmd.SUBMIT_JOB, "never_made", "", "over");
        await expectError(c, "TOO_MANY_JOBS", "Connection has too many jobs outstanding");
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "never_made", "", "over");
        await expectError(c, "TOO_MANY_JOBS");
        assert.equal(p.delta("too_many_jobs"), 2);
        assert.equal(p.server.core.view.functions.get("never_made"), undefined, "a refused submission makes no record");
        assert.equal(p.server.core.view.jobs.size, 3);
        // Another connection is not held to this one's quota.
        const other = await RawConn.connect(p.port);
        other.sendPacket(Cmd.SUBMIT_JOB, "quota_fn", "", "someone else");
        await other.expectPacket(Cmd.JOB_CREATED);
        // One job ends: the connection may submit one more.
        const w = await RawConn.connect(p.port);
        w.sendPacket(Cmd.CAN_DO, "quota_fn");
        w.sendPacket(Cmd.GRAB_JOB);
        const job = await w.expectPacket(Cmd.JOB_ASSIGN);
        assert.equal(job.args[0], handles[0]);
        w.sendPacket(Cmd.WORK_COMPLETE, handles[0]!, "ok");
        await c.expectPacket(Cmd.WORK_COMPLETE);
        c.sendPacket(Cmd.SUBMIT_JOB, "quota_fn", "", "fits again");
        await c.expectPacket(Cmd.JOB_CREATED);
        assert.equal(p.delta("too_many_jobs"), 2);
        for (const x of [c, other, w]) x.close();
      }),
  );

  test(
    "b47: past max_uniques_per_connection a submission with a unique gets ERROR TOO_MANY_UNIQUES while one without goes on; acknowledged background jobs do not count",
    { timeout: 30_000 },
    () =>
      withProbe({ maxUniquesPerConnection: 2 }, async (p) => {
        const c = await RawConn.connect(p.port);
        // Background jobs with uniques, each acknowledged: the store's, not the connection's.
        for (let i = 0; i < 5; i++) {
          c.sendPacket(Cmd.SUBMIT_JOB_BG, "uniq_fn", `bg-${i}`, "x");
          await c.expectPacket(Cmd.JOB_CREATED);
        }
        for (let i = 0; i < 2; i++) {
          c.sendPacket(Cmd.SUBMIT_JOB, "uniq_fn", `fg-${i}`, "x");
          await c.expectPacket(Cmd.JOB_CREATED);
        }
        c.sendPacket(Cmd.SUBMIT_JOB, "uniq_fn", "fg-2", "x");
        await expectError(c, "TOO_MANY_UNIQUES", "Connection has too many jobs with a unique outstanding");
        c.sendPacket(Cmd.SUBMIT_JOB, "uniq_fn", "", "no unique");
        await c.expectPacket(Cmd.JOB_CREATED);
        assert.equal(p.delta("too_many_uniques"), 1);
        assert.equal(p.server.core.view.jobs.size, 5 + 2 + 1, "the refused submission made no job");
        // A job with a unique ends: its place is free again.
        const w = await RawConn.connect(p.port);
        w.sendPacket(Cmd.CAN_DO, "uniq_fn");
        for (let i = 0; i < 6; i++) { // the five background jobs, then fg-0
          w.sendPacket(Cmd.GRAB_JOB_UNIQ);
          const job = await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
          w.sendPacket(Cmd.WORK_COMPLETE, job.args[0]!, "ok");
        }
        assert.equal((await c.expectPacket(Cmd.WORK_COMPLETE)).args[1], "ok");
        c.sendPacket(Cmd.SUBMIT_JOB, "uniq_fn", "fg-2", "x");
        await c.expectPacket(Cmd.JOB_CREATED);
        assert.equal(p.delta("too_many_uniques"), 1);
        await waitUntil("the completed background jobs leave the store", () => p.store.size === 0, 5000);
        w.close();
        // The connection closes: its foreground jobs go, and a new connection has its whole quota.
        c.close();
        const d = await RawConn.connect(p.port);
        for (let i = 0; i < 2; i++) {
          d.sendPacket(Cmd.SUBMIT_JOB, "uniq_fn", `d-${i}`, "x");
          await d.expectPacket(Cmd.JOB_CREATED);
        }
        d.close();
      }, { storeSize: 0 }),
  );
});
