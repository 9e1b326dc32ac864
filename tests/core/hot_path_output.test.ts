import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CoreSession } from "../helpers/core_session.ts";
import { Decoder, type Frame } from "../../src/protocol/decoder.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";
import { Cmd } from "../../src/protocol/commands.ts";

const C = 1, C2 = 2, W = 11;
const latin1 = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString("latin1");

describe("hot path: handles read in place and output handed over without copies", () => {
  test("a handle names its job only in canonical form: no sign, leading zero, fraction or other prefix", () => {
    const s = new CoreSession().open(C, W);
    s.send(C, "SUBMIT_JOB", "f", "u", "x");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1"]);
    for (const other of ["H:t:01", "H:t:+1", "H:t:1.0", "H:t: 1", "H:u:1", "t:1", "H:t:", "H:t:1x", "H:t:12345678901234567"]) {
      s.send(C, "GET_STATUS", other);
      assert.deepEqual(s.take(C), [`STATUS_RES ${other}\x000\x000\x000\x000`], other);
    }
    s.send(C, "GET_STATUS", "H:t:1");
    assert.deepEqual(s.take(C), ["STATUS_RES H:t:1\x001\x000\x000\x000"]);
  });

  test("output made for a connection while its own output is being written goes out later in the same flush, none lost", () => {
    const s = new CoreSession().open(C, C2);
    const core = s.core;
    const decoder = new Decoder();
    const frames: Frame[] = [];
    const echo = (text: string) => decoder.push(encodePacket(Cmd.ECHO_REQ, [], Buffer.from(text), "REQ"), frames.splice(0))[0]!;
    core.receive(C, echo("one"), 0);
    core.receive(C2, echo("other"), 0);
    const written: string[] = [];
    core.flush((conn, chunks) => {
      written.push(`${conn}:${latin1(chunks)}`);
      // The edge's write can make more output (a drop closes a connection, say): here, once, for the same connection.
      if (written.length === 1) core.receive(C, echo("two"), 0);
    });
    assert.equal(written.length, 3, "one, other, and two in the same flush's later turn");
    assert.ok(written[0]!.startsWith("1:") && written[0]!.endsWith("one"));
    assert.ok(written[1]!.startsWith("2:") && written[1]!.endsWith("other"));
    assert.ok(written[2]!.startsWith("1:") && written[2]!.endsWith("two"));
    assert.deepEqual(core.flush(() => assert.fail("nothing is left")), []);
  });

  test("argument-less packets decode to one shared frozen frame; a stray payload still gets its own", () => {
    const d = new Decoder();
    const a = d.push(encodePacket(Cmd.GRAB_JOB_ALL, [], undefined, "REQ"))[0]!;
    const b = d.push(encodePacket(Cmd.GRAB_JOB_ALL, [], undefined, "REQ"))[0]!;
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
    const stray = d.push(Buffer.from("\0REQ\0\0\0\x27\0\0\0\x03abc", "latin1"))[0]!;
    assert.notEqual(stray, a);
    assert.equal(stray.kind === "packet" && stray.size, 3);
  });
});
