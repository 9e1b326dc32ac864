import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Decoder, type Frame } from "../../src/protocol/decoder.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";

const bytes = (s: string) => Buffer.from(s, "latin1");

/** A raw header: magic (4 latin1 chars), type, size. */
function header(magic: string, code: number, size: number): Buffer {
  const h = Buffer.alloc(12);
  h.write(magic, 0, "latin1");
  h.writeUInt32BE(code, 4);
  h.writeUInt32BE(size, 8);
  return h;
}

function brief(frames: Frame[]): string[] {
  return frames.map((f) =>
    f.kind === "packet"
      ? `packet ${f.code} [${f.args.join("|")}] ${f.data === undefined ? "-" : Buffer.from(f.data).toString("latin1")}`
      : f.kind === "text"
      ? `text ${f.line}`
      : `fault ${f.error.code}${f.error.fatal ? " fatal" : ""}`
  );
}

const ECHO_OK = encodePacket(16, [], bytes("ok"), "REQ");

describe("decoder: size limits", () => {
  test("a size over maxPacketBody is refused from the 12 header bytes alone", () => {
    const d = new Decoder({ maxPacketBody: 100 });
    const h = header("\0REQ", 16, 101);
    for (let i = 0; i < 11; i++) assert.deepEqual(d.push(h.subarray(i, i + 1)), [], `byte ${i}`);
    const frames = d.push(h.subarray(11));
    assert.deepEqual(brief(frames), ["fault PACKET_TOO_LARGE fatal"]);
    const f = frames[0]!;
    assert.ok(f.kind === "fault");
    assert.equal(f.error.wireCode, "ARGUMENT_TOO_LARGE");
    assert.equal(f.error.text, false);
  });

  test("an oversized header arriving with some body bytes is refused the same way", () => {
    const d = new Decoder({ maxPacketBody: 100 });
    assert.deepEqual(brief(d.push(Buffer.concat([header("\0REQ", 16, 4_000_000_000), Buffer.alloc(50)]))), [
      "fault PACKET_TOO_LARGE fatal",
    ]);
  });

  test("a body of exactly maxPacketBody bytes is accepted, whole or split", () => {
    const wire = encodePacket(16, [], Buffer.alloc(100, 0x61), "REQ");
    assert.deepEqual(brief(new Decoder({ maxPacketBody: 100 }).push(wire)), [`packet 16 [] ${"a".repeat(100)}`]);
    const d = new Decoder({ maxPacketBody: 100 });
    assert.deepEqual(d.push(wire.subarray(0, 50)), []);
    assert.deepEqual(brief(d.push(wire.subarray(50))), [`packet 16 [] ${"a".repeat(100)}`]);
  });

  test("an admin line of exactly maxAdminLine bytes is accepted with LF and with CRLF", () => {
    const line = "s".repeat(10);
    assert.deepEqual(brief(new Decoder({ maxAdminLine: 10 }).push(bytes(line + "\n"))), [`text ${line}`]);
    assert.deepEqual(brief(new Decoder({ maxAdminLine: 10 }).push(bytes(line + "\r\n"))), [`text ${line}`]);
    const d = new Decoder({ maxAdminLine: 10 });
    const frames: Frame[] = [];
    for (const b of bytes(line + "\r\n")) frames.push(...d.push(Uint8Array.of(b)));
    assert.deepEqual(brief(frames), [`text ${line}`]);
  });

  test("an admin line without newline is refused with LINE_TOO_LONG once it passes the cap", () => {
    // The cap allows for a trailing \r, so max+1 bytes may still be a legal line.
    const d = new Decoder({ maxAdminLine: 10 });
    for (let i = 1; i <= 10; i++) assert.deepEqual(d.push(bytes("a")), [], `byte ${i}`);
    assert.deepEqual(d.push(bytes("\r")), [], "byte 11 is the \r of a CRLF ending");
    assert.equal(d.pendingBytes, 11);
    const frames = d.push(bytes("a"));
    assert.deepEqual(brief(frames), ["fault LINE_TOO_LONG fatal"]);
    const f = frames[0]!;
    assert.ok(f.kind === "fault" && f.error.text, "the fault is marked as an admin-text fault");
    assert.deepEqual(d.push(bytes("\n")), []);
  });

  test("a long line in one chunk is refused at once, without waiting for its newline", () => {
    assert.deepEqual(brief(new Decoder({ maxAdminLine: 10 }).push(bytes("x".repeat(5000)))), ["fault LINE_TOO_LONG fatal"]);
  });

  test("an admin line of maxAdminLine + 1 bytes not ending in \\r is refused", () => {
    assert.deepEqual(brief(new Decoder({ maxAdminLine: 10 }).push(bytes("a".repeat(11) + "\n"))), ["fault LINE_TOO_LONG fatal"]);
    const d = new Decoder({ maxAdminLine: 10 });
    for (let i = 1; i <= 10; i++) d.push(bytes("a"));
    assert.deepEqual(brief(d.push(bytes("a"))), ["fault LINE_TOO_LONG fatal"], "the 11th byte is not \\r: the line is too long");
  });
});

describe("decoder: faults", () => {
  test("bad magic is fatal, whole packet or header alone", () => {
    const bad = Buffer.concat([header("\0REX", 16, 2), bytes("hi")]);
    assert.deepEqual(brief(new Decoder().push(Buffer.concat([bad, ECHO_OK]))), ["fault BAD_MAGIC fatal"]);
    const d = new Decoder();
    assert.deepEqual(brief(d.push(bad.subarray(0, 12))), ["fault BAD_MAGIC fatal"]);
    const f = new Decoder().push(bad)[0]!;
    assert.ok(f.kind === "fault");
    assert.deepEqual([f.error.wireCode, f.error.wireText], ["INVALID_MAGIC", "Bad magic in packet header"]);
  });

  test("\\0RES magic is a non-fatal RESPONSE_MAGIC and the next packet decodes", () => {
    const res = encodePacket(16, [], bytes("x\0y"), "RES");
    for (const stream of [Buffer.concat([res, ECHO_OK])]) {
      assert.deepEqual(brief(new Decoder().push(stream)), ["fault RESPONSE_MAGIC", "packet 16 [] ok"]);
      const d = new Decoder();
      const frames = [...d.push(stream.subarray(0, 13)), ...d.push(stream.subarray(13))];
      assert.deepEqual(brief(frames), ["fault RESPONSE_MAGIC", "packet 16 [] ok"]);
    }
    const f = new Decoder().push(res)[0]!;
    assert.ok(f.kind === "fault");
    assert.deepEqual([f.error.wireCode, f.error.wireText], ["INVALID_MAGIC", "Request magic expected"]);
  });

  test("type 0 is fatal", () => {
    const zero = Buffer.concat([header("\0REQ", 0, 0)]);
    assert.deepEqual(brief(new Decoder().push(Buffer.concat([zero, ECHO_OK]))), ["fault RESERVED_COMMAND fatal"]);
    const d = new Decoder();
    d.push(zero.subarray(0, 6));
    assert.deepEqual(brief(d.push(Buffer.concat([zero.subarray(6), ECHO_OK]))), ["fault RESERVED_COMMAND fatal"]);
  });

  test("a \\0RES packet of type 0 gets the same verdict whole and split", () => {
    const p = Buffer.concat([header("\0RES", 0, 2), bytes("xy")]);
    const whole = brief(new Decoder().push(p));
    const d = new Decoder();
    const split = brief([...d.push(p.subarray(0, 5)), ...d.push(p.subarray(5))]);
    assert.deepEqual(whole, split);
  });

  test("unknown type 99 with a body is non-fatal UNKNOWN_COMMAND and its body is skipped", () => {
    const unknown = Buffer.concat([header("\0REQ", 99, 12), ECHO_OK.subarray(0, 12)]);
    const stream = Buffer.concat([unknown, ECHO_OK]);
    assert.deepEqual(brief(new Decoder().push(stream)), ["fault UNKNOWN_COMMAND", "packet 16 [] ok"]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new Decoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      assert.deepEqual(brief(frames), ["fault UNKNOWN_COMMAND", "packet 16 [] ok"], `split at ${cut}`);
    }
    const f = new Decoder().push(unknown)[0]!;
    assert.ok(f.kind === "fault");
    assert.deepEqual([f.error.wireCode, f.error.wireText], ["INVALID_COMMAND", "Command not expected"]);
  });

  test("the unused type 5 is an unknown command too", () => {
    assert.deepEqual(brief(new Decoder().push(Buffer.concat([header("\0REQ", 5, 0), ECHO_OK]))), [
      "fault UNKNOWN_COMMAND",
      "packet 16 [] ok",
    ]);
  });

  test("too few NULs for the type is a non-fatal INVALID_PACKET and the next packet decodes", () => {
    const bad = encodePacket(18, ["justdata"], undefined, "REQ"); // SUBMIT_JOB_BG needs fn\0unique\0data
    assert.deepEqual(brief(new Decoder().push(Buffer.concat([bad, ECHO_OK]))), ["fault INVALID_PACKET", "packet 16 [] ok"]);
    const f = new Decoder().push(bad)[0]!;
    assert.ok(f.kind === "fault");
    assert.deepEqual([f.error.wireCode, f.error.fatal], ["INVALID_PACKET", false]);
    // WORK_STATUS needs two NULs; a reduce job four.
    const status = encodePacket(12, ["H:t:1\x003"], undefined, "REQ");
    assert.deepEqual(brief(new Decoder().push(status)), ["fault INVALID_PACKET"]);
    const reduce = encodePacket(37, ["f", "u"], bytes("red"), "REQ");
    assert.deepEqual(brief(new Decoder().push(reduce)), ["fault INVALID_PACKET"]);
  });

  test("an empty payload for a type with arguments is INVALID_PACKET, never a read into the next packet", () => {
    const empty = header("\0REQ", 7, 0);
    assert.deepEqual(brief(new Decoder().push(Buffer.concat([empty, ECHO_OK]))), ["fault INVALID_PACKET", "packet 16 [] ok"]);
  });

  test("a missing separator before an empty opaque tail reads as empty data (Perl workers)", () => {
    const complete = encodePacket(13, ["H:t:1"], undefined, "REQ");
    assert.deepEqual(brief(new Decoder().push(complete)), ["packet 13 [H:t:1] "]);
  });

  test("after a fatal fault push() returns nothing, whatever follows", () => {
    const d = new Decoder();
    assert.deepEqual(brief(d.push(header("\0BAD", 1, 0))), ["fault BAD_MAGIC fatal"]);
    assert.deepEqual(d.push(ECHO_OK), []);
    assert.deepEqual(d.push(bytes("status\n")), []);
    assert.equal(d.pendingBytes, 0);
  });

  test("a TLS handshake on the plaintext port is refused at its first byte", () => {
    assert.deepEqual(brief(new Decoder().push(Uint8Array.of(0x16, 0x03, 0x01))), ["fault TLS_ON_PLAINTEXT fatal"]);
  });

  test("a client-side decoder (expect RES) takes no admin text", () => {
    const d = new Decoder({ expect: "RES" });
    assert.deepEqual(brief(d.push(bytes("OK 1.2.3\n..."))), ["fault BAD_MAGIC fatal"]);
    const c = new Decoder({ expect: "RES" });
    assert.deepEqual(brief(c.push(encodePacket(8, ["H:t:1"]))), ["packet 8 [H:t:1] -"]);
    assert.deepEqual(brief(c.push(encodePacket(16, [], bytes("x"), "REQ"))), ["fault RESPONSE_MAGIC"]);
  });
});

describe("decoder: partial input", () => {
  test("pendingBytes reports a half-received header, body and line", () => {
    const d = new Decoder();
    const wire = encodePacket(16, [], bytes("0123456789"), "REQ");
    d.push(wire.subarray(0, 5));
    assert.equal(d.pendingBytes, 5);
    d.push(wire.subarray(5, 12));
    assert.equal(d.pendingBytes, 12);
    d.push(wire.subarray(12, 15));
    assert.equal(d.pendingBytes, 15);
    assert.deepEqual(brief(d.push(wire.subarray(15))), ["packet 16 [] 0123456789"]);
    assert.equal(d.pendingBytes, 0);
    d.push(bytes("sta"));
    assert.equal(d.pendingBytes, 3);
    d.push(bytes("tus\r"));
    assert.equal(d.pendingBytes, 7);
    assert.deepEqual(brief(d.push(bytes("\n"))), ["text status"]);
    assert.equal(d.pendingBytes, 0);
  });

  test("a zero-argument packet with a stray payload is accepted and the stream goes on (docs/protocol.md §1.2)", () => {
    const grab = encodePacket(9, [], bytes("abc"), "REQ");
    const frames = new Decoder().push(Buffer.concat([grab, ECHO_OK]));
    assert.deepEqual(brief(frames), ["packet 9 [] -", "packet 16 [] ok"]);
    const f = frames[0]!;
    assert.ok(f.kind === "packet");
    assert.equal(f.size, 3);
  });

  test("a body split across pushes is owned by the frame; a whole one may view the chunk", () => {
    const wire = encodePacket(16, [], bytes("hello"), "REQ");
    const d = new Decoder();
    d.push(wire.subarray(0, 14));
    const [split] = d.push(wire.subarray(14));
    assert.ok(split?.kind === "packet");
    assert.equal(split.owned, true);
    const [whole] = new Decoder().push(wire);
    assert.ok(whole?.kind === "packet");
    assert.equal(whole.owned, false);
  });
});
