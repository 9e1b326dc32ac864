import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Cmd, COMMANDS } from "../../src/protocol/commands.ts";
import { Decoder, type Frame } from "../../src/protocol/decoder.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";

/** A comparable form of frames: packets as code + args + data bytes. */
function shape(frames: Frame[]): unknown[] {
  return frames.map((f) =>
    f.kind === "packet"
      ? { code: f.code, args: f.args, data: f.data ? Buffer.from(f.data).toString("hex") : null }
      : f.kind === "text"
      ? { text: f.line }
      : { fault: f.error.code, fatal: f.error.fatal }
  );
}

const STREAM = Buffer.concat([
  encodePacket(Cmd.CAN_DO, ["reverse"], undefined, "REQ"),
  Buffer.from("status\r\n", "latin1"),
  encodePacket(Cmd.SUBMIT_JOB, ["reverse", "u-1"], Buffer.from("pay\0load\xff", "latin1"), "REQ"),
  encodePacket(Cmd.GRAB_JOB_ALL, [], undefined, "REQ"),
  Buffer.from("version\n", "latin1"),
  encodePacket(Cmd.ECHO_REQ, [], new Uint8Array(0), "REQ"),
  encodePacket(Cmd.WORK_STATUS, ["H:x:1", "3", "10"], undefined, "REQ"),
  encodePacket(Cmd.SUBMIT_REDUCE_JOB, ["f", "u", "red", "agg"], Buffer.from("d"), "REQ"),
]);

function whole(): unknown[] {
  return shape(new Decoder().push(STREAM));
}

describe("the decoder", () => {
  test("decodes a mixed stream of packets and admin lines", () => {
    assert.deepEqual(whole(), [
      { code: Cmd.CAN_DO, args: ["reverse"], data: null },
      { text: "status" },
      { code: Cmd.SUBMIT_JOB, args: ["reverse", "u-1"], data: Buffer.from("pay\0load\xff", "latin1").toString("hex") },
      { code: Cmd.GRAB_JOB_ALL, args: [], data: null },
      { text: "version" },
      { code: Cmd.ECHO_REQ, args: [], data: "" },
      { code: Cmd.WORK_STATUS, args: ["H:x:1", "3", "10"], data: null },
      { code: Cmd.SUBMIT_REDUCE_JOB, args: ["f", "u", "red", "agg"], data: "64" },
    ]);
  });

  test("gives the same frames when the stream is split at every point", () => {
    const expected = whole();
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const d = new Decoder();
      const got = [...d.push(STREAM.subarray(0, cut)), ...d.push(STREAM.subarray(cut))];
      assert.deepEqual(shape(got), expected, `split at ${cut}`);
      assert.equal(d.pendingBytes, 0);
    }
  });

  test("gives the same frames when fed one byte at a time", () => {
    const d = new Decoder();
    const got: Frame[] = [];
    for (let i = 0; i < STREAM.length; i++) got.push(...d.push(STREAM.subarray(i, i + 1)));
    assert.deepEqual(shape(got), whole());
  });

  test("gives the same frames for seeded random multi-way splits", () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const expected = whole();
    for (let round = 0; round < 200; round++) {
      const d = new Decoder();
      const got: Frame[] = [];
      for (let pos = 0; pos < STREAM.length;) {
        const n = 1 + Math.floor(rand() * 40);
        got.push(...d.push(STREAM.subarray(pos, pos + n)));
        pos += n;
      }
      assert.deepEqual(shape(got), expected, `round ${round}`);
    }
  });

  test("round-trips every request type of the command table", () => {
    for (const spec of COMMANDS) {
      if (!spec || spec.direction === "response") continue;
      const args = spec.fields.map((f, i) => `${f}${i}`);
      const data = spec.tail ? Buffer.from([0, 1, 0xfe, 0]) : undefined;
      const [frame] = new Decoder().push(encodePacket(spec.code, args, data, "REQ"));
      assert.ok(frame && frame.kind === "packet", spec.name);
      assert.deepEqual(frame.args, args, spec.name);
      assert.deepEqual(frame.data ? [...frame.data] : undefined, data ? [...data] : undefined, spec.name);
    }
  });

  test("string arguments carry all 256 byte values unchanged (latin1)", () => {
    const name = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1)).toString("latin1");
    const [frame] = new Decoder().push(encodePacket(Cmd.CAN_DO, [name], undefined, "REQ"));
    assert.ok(frame?.kind === "packet");
    assert.equal(frame.args[0], name);
    assert.deepEqual([...encodePacket(Cmd.CAN_DO, [name], undefined, "REQ").subarray(12)], Array.from({ length: 255 }, (_, i) => i + 1));
  });
});

describe("decoder limits and faults", () => {
  const header = (magic: string, code: number, size: number) => {
    const b = Buffer.alloc(12);
    b.write(magic, 0, "latin1");
    b.writeUInt32BE(code, 4);
    b.writeUInt32BE(size, 8);
    return b;
  };

  test("a size over the limit is refused from the 12-byte header alone, before any body arrives", () => {
    const d = new Decoder({ maxPacketBody: 1024 });
    assert.deepEqual(shape(d.push(header("\0REQ", Cmd.SUBMIT_JOB_BG, 1025))), [{ fault: "PACKET_TOO_LARGE", fatal: true }]);
    assert.deepEqual(d.push(encodePacket(Cmd.ECHO_REQ, [], Buffer.from("x"), "REQ")), [], "nothing after a fatal fault");
    const ok = new Decoder({ maxPacketBody: 1024 });
    const max = encodePacket(Cmd.ECHO_REQ, [], Buffer.alloc(1024, 7), "REQ");
    assert.equal(shape(ok.push(max)).length, 1);
    assert.equal((ok.push(max)[0] as { data: Uint8Array }).data.length, 1024);
  });

  test("a bad magic is fatal; a response magic is refused and the stream goes on", () => {
    assert.deepEqual(shape(new Decoder().push(header("\0XYZ", Cmd.ECHO_REQ, 0))), [{ fault: "BAD_MAGIC", fatal: true }]);
    const d = new Decoder();
    const frames = d.push(
      Buffer.concat([header("\0RES", Cmd.ECHO_REQ, 3), Buffer.from("abc"), encodePacket(Cmd.ECHO_REQ, [], Buffer.from("ok"), "REQ")]),
    );
    assert.deepEqual(shape(frames), [{ fault: "RESPONSE_MAGIC", fatal: false }, { code: Cmd.ECHO_REQ, args: [], data: "6f6b" }]);
  });

  test("type 0 is fatal; an unknown type has its body skipped and the next packet decodes", () => {
    assert.deepEqual(shape(new Decoder().push(header("\0REQ", 0, 0))), [{ fault: "RESERVED_COMMAND", fatal: true }]);
    const d = new Decoder();
    const stream = Buffer.concat([
      header("\0REQ", 99, 5),
      Buffer.from("\0\0\0\0\0"),
      encodePacket(Cmd.ECHO_REQ, [], Buffer.from("z"), "REQ"),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const dd = new Decoder();
      const got = [...dd.push(stream.subarray(0, cut)), ...dd.push(stream.subarray(cut))];
      assert.deepEqual(
        shape(got),
        [{ fault: "UNKNOWN_COMMAND", fatal: false }, { code: Cmd.ECHO_REQ, args: [], data: "7a" }],
        `cut ${cut}`,
      );
    }
    assert.equal(d.pendingBytes, 0);
  });

  test("too few separators is INVALID_PACKET once the declared body is complete, and the stream goes on", () => {
    const bad = Buffer.concat([header("\0REQ", Cmd.SUBMIT_JOB_BG, 8), Buffer.from("justdata")]);
    const frames = new Decoder().push(Buffer.concat([bad, encodePacket(Cmd.ECHO_REQ, [], Buffer.from("k"), "REQ")]));
    assert.deepEqual(shape(frames), [{ fault: "INVALID_PACKET", fatal: false }, { code: Cmd.ECHO_REQ, args: [], data: "6b" }]);
  });

  test("a result packet without the separator before empty data reads as empty data (Perl workers send it)", () => {
    const p = Buffer.concat([header("\0REQ", Cmd.WORK_COMPLETE, 5), Buffer.from("H:x:1")]);
    assert.deepEqual(shape(new Decoder().push(p)), [{ code: Cmd.WORK_COMPLETE, args: ["H:x:1"], data: "" }]);
  });

  test("an admin line over the cap is refused as soon as it passes the cap, not at its end", () => {
    const d = new Decoder({ maxAdminLine: 64 });
    assert.deepEqual(d.push(Buffer.alloc(60, 0x61)), []);
    assert.equal(d.pendingBytes, 60);
    assert.deepEqual(shape(d.push(Buffer.alloc(10, 0x61))), [{ fault: "LINE_TOO_LONG", fatal: true }]);
    assert.deepEqual(shape(new Decoder({ maxAdminLine: 64 }).push(Buffer.from("a".repeat(64) + "\r\n"))), [{ text: "a".repeat(64) }]);
  });

  test("pendingBytes reports a half-received header, body or line", () => {
    const d = new Decoder();
    const p = encodePacket(Cmd.ECHO_REQ, [], Buffer.alloc(100), "REQ");
    d.push(p.subarray(0, 5));
    assert.equal(d.pendingBytes, 5);
    d.push(p.subarray(5, 50));
    assert.equal(d.pendingBytes, 50);
    d.push(p.subarray(50));
    assert.equal(d.pendingBytes, 0);
  });

  test("a stray payload on an argument-less packet is ignored", () => {
    const p = Buffer.concat([header("\0REQ", Cmd.GRAB_JOB, 3), Buffer.from("xyz")]);
    assert.deepEqual(shape(new Decoder().push(p)), [{ code: Cmd.GRAB_JOB, args: [], data: null }]);
  });
});
