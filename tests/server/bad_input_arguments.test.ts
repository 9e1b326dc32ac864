/**
 * docs/reliability.md §3, argument cases: well-framed packets whose arguments
 * are wrong, hostile or out of range.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { MemoryStore } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { sync } from "../helpers/scenario.ts";
import { assertAlive, assertUsable, counter, expectError, header, withServer } from "../helpers/inproc.ts";

async function created(c: RawConn): Promise<string> {
  return (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
}

describe("bad input: arguments", () => {
  test("b13: zero-length bodies: CAN_DO is an empty name, SUBMIT_JOB lacks separators, GET_STATUS asks about the empty handle", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      c.send(header("\0REQ", Cmd.CAN_DO, 0));
      await expectError(c, "INVALID_FUNCTION_NAME");
      c.send(header("\0REQ", Cmd.SUBMIT_JOB, 0));
      await expectError(c, "INVALID_PACKET");
      c.send(header("\0REQ", Cmd.GET_STATUS, 0));
      assert.deepEqual((await c.expectPacket(Cmd.STATUS_RES)).args, ["", "0", "0", "0", "0"]);
      await assertUsable(c);
      c.close();
    }));

  test("b14/b15/b16: empty, oversized and whitespace-bearing function names are refused, so admin output cannot be forged", () =>
    withServer({}, async (server, port) => {
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "", "", "x");
      await expectError(c, "INVALID_FUNCTION_NAME", "Function name must not be empty");
      for (const size of [513, 8192, 1024 * 1024]) {
        c.sendPacket(Cmd.CAN_DO, "f".repeat(size));
        await expectError(c, "ARGUMENT_TOO_LARGE", "Function name too large");
      }
      for (const name of ["a\tb", "fake\t9\t9\t9\n", "sp ace", ".", "ctl\x01", "del\x7f"]) {
        if (name === ".") continue; // a lone "." is a fine name; it cannot end a list on its own line
        c.sendPacket(Cmd.CAN_DO, name);
        await expectError(c, "INVALID_FUNCTION_NAME", "Function name contains whitespace or control bytes");
      }
      c.sendPacket(Cmd.CAN_DO, "x';DROP_TABLE_job;--");
      assert.equal(await c.adminList("status"), "x';DROP_TABLE_job;--\t0\t0\t1\n.\n");
      assert.ok(counter(server, "invalid_function_name") >= 9);
      c.close();
    }));

  test("b16/b29: SET_CLIENT_ID of 1 MiB with newlines is cut and escaped in the workers listing", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.SET_CLIENT_ID, "evil\n0 1.2.3.4 forged : f\n" + "z".repeat(1024 * 1024));
      c.sendPacket(Cmd.CAN_DO, "f29");
      const rows = (await c.adminList("workers")).split("\n");
      assert.equal(rows.length, 3, "one row and the terminator");
      assert.match(rows[0]!, /^\d+ 127\.0\.0\.1 evil\?0\?1\.2\.3\.4\?forged\?:\?f\?z+ : f29$/);
      assert.ok(rows[0]!.length < 200);
      c.close();
    }));

  test("b17: a 64-byte unique is accepted and a 65-byte one refused", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "u17", "u".repeat(64), "x");
      await created(c);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "u17", "u".repeat(65), "x");
      await expectError(c, "ARGUMENT_TOO_LARGE", "Unique value too large");
      await assertUsable(c);
      c.close();
    }));

  test("b18: an empty unique never coalesces; `-` coalesces identical workloads only (the documented rule)", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      const submit = async (unique: string, data: string) => {
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "f18", unique, data);
        return await created(c);
      };
      const e1 = await submit("", "x");
      const e2 = await submit("", "x");
      assert.notEqual(e1, e2);
      const d1 = await submit("-", "same");
      assert.equal(await submit("-", "same"), d1);
      assert.notEqual(await submit("-", "other"), d1);
      assert.equal(await c.adminList("show unique jobs"), "\n\n-\n-\n.\n");
      c.close();
    }));

  test("b19/b20: WORK_* with an unknown handle gets JOB_NOT_FOUND, with a handle over 64 bytes ARGUMENT_TOO_LARGE; status queries answer unknown", () =>
    withServer({}, async (server, port) => {
      const c = await RawConn.connect(port);
      for (const code of [Cmd.WORK_COMPLETE, Cmd.WORK_FAIL, Cmd.WORK_STATUS, Cmd.WORK_DATA, Cmd.WORK_WARNING, Cmd.WORK_EXCEPTION]) {
        c.sendPacket(
          code,
          ...(code === Cmd.WORK_STATUS ? ["H:bogus:1", "1", "2"] : code === Cmd.WORK_FAIL ? ["H:bogus:1"] : ["H:bogus:1", "x"]),
        );
        await expectError(c, "JOB_NOT_FOUND");
      }
      const long = "H:" + "x".repeat(70) + ":1";
      c.sendPacket(Cmd.WORK_COMPLETE, long, "x");
      await expectError(c, "ARGUMENT_TOO_LARGE", "Job handle too large");
      c.sendPacket(Cmd.GET_STATUS, long);
      assert.deepEqual((await c.expectPacket(Cmd.STATUS_RES)).args, [long, "0", "0", "0", "0"]);
      c.sendPacket(Cmd.GET_STATUS_UNIQUE, "u".repeat(100));
      assert.deepEqual((await c.expectPacket(Cmd.STATUS_RES_UNIQUE)).args.slice(1), ["0", "0", "0", "0", "0"]);
      assert.equal(counter(server, "result_for_unknown_job"), 7);
      c.close();
    }));

  test("b21/b22: results from a non-owner, duplicate completions and a fail after complete get JOB_NOT_FOUND; one terminal state", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      const w1 = await RawConn.connect(port);
      const w2 = await RawConn.connect(port);
      for (const w of [w1, w2]) w.sendPacket(Cmd.CAN_DO, "f21");
      c.sendPacket(Cmd.SUBMIT_JOB, "f21", "", "x");
      const h = await created(c);
      w1.sendPacket(Cmd.GRAB_JOB);
      await w1.expectPacket(Cmd.JOB_ASSIGN);
      w2.sendPacket(Cmd.WORK_COMPLETE, h, "thief");
      await expectError(w2, "JOB_NOT_FOUND");
      w1.sendPacket(Cmd.WORK_COMPLETE, h, "owner");
      w1.sendPacket(Cmd.WORK_COMPLETE, h, "twice");
      await expectError(w1, "JOB_NOT_FOUND");
      w1.sendPacket(Cmd.WORK_FAIL, h);
      await expectError(w1, "JOB_NOT_FOUND");
      assert.equal((await c.expectPacket(Cmd.WORK_COMPLETE)).body.toString(), `${h}\0owner`);
      await sync(c);
      for (const x of [c, w1, w2]) x.close();
    }));

  test("b23: WORK_STATUS with non-numeric, negative and 40-digit values never throws and is reported as parsed", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      const w = await RawConn.connect(port);
      w.sendPacket(Cmd.CAN_DO, "f23");
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "f23", "", "x");
      const h = await created(c);
      w.sendPacket(Cmd.GRAB_JOB);
      await w.expectPacket(Cmd.JOB_ASSIGN);
      for (const [n, d, en, ed] of [["abc", "-5", "0", "0"], ["7x", "9".repeat(40), "7", "99999999999999999999"], ["12", "3", "12", "3"]]) {
        w.sendPacket(Cmd.WORK_STATUS, h, n!, d!);
        c.sendPacket(Cmd.GET_STATUS, h);
        assert.deepEqual((await c.expectPacket(Cmd.STATUS_RES)).args, [h, "1", "1", en, ed]);
      }
      await sync(w);
      c.close();
      w.close();
    }));

  test("b24: epochs that are not numbers, overflow or lie over ten years ahead are refused; past ones run now", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      for (const e of ["abc", "99999999999999999999", String(Math.floor(Date.now() / 1000) + 11 * 365 * 86400)]) {
        c.sendPacket(Cmd.SUBMIT_JOB_EPOCH, "f24", "", e, "x");
        await expectError(c, "INVALID_ARGUMENT");
      }
      for (const e of ["-1", "0", "1000"]) {
        c.sendPacket(Cmd.SUBMIT_JOB_EPOCH, "f24", "", e, "x");
        await created(c);
      }
      assert.equal(await c.adminList("prioritystatus"), "f24\t0\t3\t0\t0\n.\n");
      c.close();
    }));

  test("b25: SUBMIT_JOB_SCHED is refused with INVALID_COMMAND and the connection kept", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.SUBMIT_JOB_SCHED, "f", "", "0", "0", "1", "1", "0", "x");
      await expectError(c, "INVALID_COMMAND", "Command not expected");
      await assertUsable(c);
      c.close();
    }));

  test("b26: CAN_DO_TIMEOUT with garbage is refused; 0 and negative mean no limit; 2^63 is clamped to a day", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      for (const v of ["soon", "1e3", "", "12345678901234567890123"]) {
        c.sendPacket(Cmd.CAN_DO_TIMEOUT, "f26", v);
        await expectError(c, "INVALID_ARGUMENT");
      }
      for (const v of ["0", "-5", "9223372036854775808"]) c.sendPacket(Cmd.CAN_DO_TIMEOUT, "f26", v);
      assert.equal(await c.adminList("status"), "f26\t0\t0\t1\n.\n");
      c.close();
    }));

  test("b27: registrations past the per-connection cap and functions past the global cap are refused", () =>
    withServer({ maxFunctionsPerConnection: 50, maxFunctions: 80 }, async (server, port) => {
      const c = await RawConn.connect(port);
      c.send(Buffer.concat(Array.from({ length: 60 }, (_, i) => packet(Cmd.CAN_DO, `f27_${i}`))));
      for (let i = 0; i < 10; i++) await expectError(c, "TOO_MANY_FUNCTIONS");
      const d = await RawConn.connect(port);
      for (let i = 0; i < 40; i++) d.sendPacket(Cmd.CAN_DO, `g27_${i}`);
      for (let i = 0; i < 10; i++) await expectError(d, "QUEUE_ERROR", "Too many functions");
      assert.equal(server.core.view.functions.size, 80);
      assert.equal(counter(server, "too_many_abilities"), 10);
      await assertAlive(port);
      c.close();
      d.close();
    }));

  test("b28: unknown, 64 KiB and binary OPTION_REQ names get UNKNOWN_OPTION and the connection is kept", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      for (const o of ["bogus", "e".repeat(65536), "\x00\xff\x01"]) {
        c.sendPacket(Cmd.OPTION_REQ, o);
        await expectError(c, "UNKNOWN_OPTION", "Server does not recognize given option");
      }
      await assertUsable(c);
      c.close();
    }));

  test("b30: GRAB_JOB and PRE_SLEEP spam from a connection without abilities gets NO_JOB and nothing else", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      const spam = Buffer.concat(
        Array.from({ length: 5000 }, () => Buffer.concat([header("\0REQ", Cmd.GRAB_JOB, 0), header("\0REQ", Cmd.PRE_SLEEP, 0)])),
      );
      c.send(spam);
      for (let i = 0; i < 5000; i++) await c.expectPacket(Cmd.NO_JOB);
      await sync(c);
      c.close();
    }));

  test("b43: SQL- and path-like strings are kept literally", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      const w = await RawConn.connect(port);
      const unique = "'; DROP TABLE job;--";
      const data = "../../x %s%n";
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "f43", unique, data);
      await created(c);
      assert.equal(await c.adminList("show unique jobs"), `${unique}\n.\n`);
      w.sendPacket(Cmd.CAN_DO, "f43");
      w.sendPacket(Cmd.GRAB_JOB_UNIQ);
      assert.deepEqual((await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ)).args.slice(1), ["f43", unique, data]);
      c.close();
      w.close();
    }));

  test("b44: 100 concurrent background submits of one (function, unique) make one job with one handle, also after a restart", async () => {
    const store = new MemoryStore();
    let handle = "";
    await withServer({ storeInstance: store }, async (_server, port) => {
      const conns = await Promise.all(Array.from({ length: 100 }, () => RawConn.connect(port)));
      for (const c of conns) c.sendPacket(Cmd.SUBMIT_JOB_BG, "f44", "same", "x");
      const handles = new Set(await Promise.all(conns.map(created)));
      assert.equal(handles.size, 1);
      handle = [...handles][0]!;
      assert.equal(store.size, 1);
      for (const c of conns) c.close();
    });
    await withServer({ storeInstance: store }, async (_server, port) => {
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "f44", "same", "x");
      assert.equal(await created(c), handle);
      assert.equal(store.size, 1);
      c.close();
    });
  });
});
