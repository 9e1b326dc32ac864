/**
 * Conformance scenarios for framing (docs/protocol.md §6: G01, G37, G38),
 * run at the socket level against every available target.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet } from "../helpers/raw_conn.ts";
import { TARGETS } from "../helpers/servers.ts";
import {
  availability,
  expectCreated,
  expectError,
  expectRes,
  isGearbox,
  nul,
  sync,
  text,
  useServer,
  withConns,
} from "../helpers/scenario.ts";
import { sleep } from "../helpers/wait.ts";

/** A packet with an arbitrary magic and type, for the malformed-input scenarios. */
function rawPacket(magic: string, code: number, payload: string): Buffer {
  const body = Buffer.from(payload, "latin1");
  const head = Buffer.alloc(12);
  head.write(magic, 0, "latin1");
  head.writeUInt32BE(code, 4);
  head.writeUInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}

for (const target of TARGETS) {
  describe(`conformance: framing [${target.name}]`, availability(target), () => {
    const srv = useServer(target);

    test("G01: ECHO_REQ is answered with ECHO_RES carrying the identical payload, NULs and empty included", () =>
      withConns(srv.port, async function g01EchoRoundTrip(open) {
        const c = await open();
        c.sendPacket(Cmd.ECHO_REQ, "hello\0world");
        await expectRes(c, Cmd.ECHO_RES, "hello\0world");
        c.sendPacket(Cmd.ECHO_REQ, "");
        const empty = await expectRes(c, Cmd.ECHO_RES, "");
        assert.equal(empty.body.length, 0);
      }));

    test(
      "G37: a 4 MiB workload travels to the worker and its 4 MiB result back to the client byte for byte",
      { timeout: 20_000 },
      () =>
        withConns(srv.port, async function g37LargePayload(open) {
          const w = await open();
          const c = await open();
          const data = Buffer.alloc(4 * 1024 * 1024);
          for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 12)) & 0xff;
          w.sendPacket(Cmd.CAN_DO, "g37_big");
          await sync(w);
          c.sendPacket(Cmd.SUBMIT_JOB, "g37_big", "", data);
          const h = await expectCreated(c, 10_000);
          w.sendPacket(Cmd.GRAB_JOB);
          const assign = await expectRes(w, Cmd.JOB_ASSIGN, undefined, 10_000);
          const prefix = Buffer.from(nul(h, "g37_big", ""), "latin1");
          assert.ok(assign.body.subarray(0, prefix.length).equals(prefix), "JOB_ASSIGN starts with handle and function");
          assert.ok(assign.body.subarray(prefix.length).equals(data), "workload arrives unchanged");
          const result = Buffer.from(data).reverse();
          w.sendPacket(Cmd.WORK_COMPLETE, h, result);
          const done = await expectRes(c, Cmd.WORK_COMPLETE, undefined, 10_000);
          assert.ok(done.body.equals(Buffer.concat([Buffer.from(`${h}\0`, "latin1"), result])), "result arrives unchanged");
        }),
    );

    test("G37: an ECHO_REQ written one byte at a time is reassembled and answered", () =>
      withConns(srv.port, async function g37ByteByByte(open) {
        const c = await open();
        const bytes = packet(Cmd.ECHO_REQ, "slow\0drip");
        for (const b of bytes) {
          c.send(Buffer.from([b]));
          await sleep(2);
        }
        await expectRes(c, Cmd.ECHO_RES, "slow\0drip");
      }));

    test("G37: two ECHO_REQs in one write get two ECHO_RES in order", () =>
      withConns(srv.port, async function g37TwoInOneWrite(open) {
        const c = await open();
        c.send(Buffer.concat([packet(Cmd.ECHO_REQ, "first"), packet(Cmd.ECHO_REQ, "second")]));
        await expectRes(c, Cmd.ECHO_RES, "first");
        await expectRes(c, Cmd.ECHO_RES, "second");
      }));

    test("G37: a text `version` line and a binary ECHO_REQ in one write are answered in order", () =>
      withConns(srv.port, async function g37TextThenBinary(open) {
        const c = await open();
        c.send(Buffer.concat([Buffer.from("version\n", "latin1"), packet(Cmd.ECHO_REQ, "after text")]));
        assert.match(await c.readUntil("\n"), /^OK [^\r\n]+\n$/);
        await expectRes(c, Cmd.ECHO_RES, "after text");
      }));

    test("G37: GRAB_JOB with a stray 3-byte payload gets NO_JOB and the next packet parses normally", () =>
      withConns(srv.port, async function g37StrayPayload(open) {
        const c = await open();
        c.send(Buffer.concat([packet(Cmd.GRAB_JOB, "xyz"), packet(Cmd.ECHO_REQ, "still framed")]));
        await expectRes(c, Cmd.NO_JOB, "");
        await expectRes(c, Cmd.ECHO_RES, "still framed");
      }));

    test("G38: a request with \\0RES magic gets ERROR INVALID_MAGIC and the connection stays usable", () =>
      withConns(srv.port, async function g38ResMagic(open) {
        const c = await open();
        c.send(rawPacket("\0RES", Cmd.ECHO_REQ, "wrong magic"));
        await expectError(c, "INVALID_MAGIC", "Request magic expected");
        c.sendPacket(Cmd.ECHO_REQ, "after magic");
        await expectRes(c, Cmd.ECHO_RES, "after magic");
      }));

    test("G38: NOOP and a well-formed JOB_ASSIGN sent as requests each get ERROR INVALID_COMMAND and the connection stays usable", () =>
      withConns(srv.port, async function g38ServerOnlyTypes(open) {
        const c = await open();
        c.sendPacket(Cmd.NOOP);
        await expectError(c, "INVALID_COMMAND", "Command not expected");
        c.sendPacket(Cmd.JOB_ASSIGN, "H:x:1", "g38_fn", "data");
        await expectError(c, "INVALID_COMMAND", "Command not expected");
        c.sendPacket(Cmd.ECHO_REQ, "still here");
        await expectRes(c, Cmd.ECHO_RES, "still here");
      }));

    test("G38: an undefined packet type 99 gets ERROR INVALID_COMMAND and the connection stays usable (gearmand: tolerant, may close)", () =>
      withConns(srv.port, async function g38UnknownType(open) {
        const c = await open();
        c.send(rawPacket("\0REQ", 99, ""));
        if (isGearbox(target)) {
          await expectError(c, "INVALID_COMMAND");
          c.sendPacket(Cmd.ECHO_REQ, "after 99");
          await expectRes(c, Cmd.ECHO_RES, "after 99");
          return;
        }
        // Tolerant form (docs/protocol.md §6, G38): either an ERROR or a close.
        try {
          const p = await c.expectPacket(undefined, 1000);
          assert.equal(p.code, Cmd.ERROR, `type 99 answered with ${p.code} (${JSON.stringify(text(p))})`);
        } catch (e) {
          if (!c.closed) throw e;
        }
      }));
  });
}
