import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Decoder } from "../../src/protocol/decoder.ts";
import { encodePacket, encodeText } from "../../src/protocol/encoder.ts";

const bytes = (s: string) => Buffer.from(s, "latin1");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** Header and payload as hex, the way docs/protocol.md §1.2 shows captures. */
const wire = (magic: "REQ" | "RES", code: number, payload: string) => {
  const h = Buffer.alloc(12);
  h.write(magic === "REQ" ? "\0REQ" : "\0RES", 0, "latin1");
  h.writeUInt32BE(code, 4);
  h.writeUInt32BE(Buffer.byteLength(payload, "latin1"), 8);
  return hex(Buffer.concat([h, bytes(payload)]));
};

/** Every byte value 0..255, as a latin1 string. */
const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

describe("encoder: exact bytes", () => {
  test("JOB_CREATED is the handle alone, with \\0RES magic", () => {
    const got = encodePacket(8, ["H:vm:67"]);
    assert.equal(hex(got), "00524553" + "00000008" + "00000007" + hex(bytes("H:vm:67")));
  });

  test("JOB_ASSIGN_UNIQ with an empty unique keeps the empty field (docs/protocol.md §3.3)", () => {
    const got = encodePacket(31, ["H:vm:4", "pf", ""], bytes("nouniq2"));
    assert.equal(hex(got), wire("RES", 31, "H:vm:4\0pf\0\0nouniq2"));
    assert.equal(got.length, 12 + 18);
  });

  test("JOB_ASSIGN_UNIQ of the docs/protocol.md §1.2 capture", () => {
    const unique = "309ce7b0-e652-11f1-a6b8-02fc00000001";
    const got = encodePacket(31, ["H:vm:67", "cli_rev", unique], bytes("hello"));
    assert.equal(hex(got.subarray(0, 12)), "00524553" + "0000001f" + "0000003a");
    assert.equal(hex(got), wire("RES", 31, `H:vm:67\0cli_rev\0${unique}\0hello`));
  });

  test("WORK_FAIL is the handle with no trailing NUL", () => {
    assert.equal(hex(encodePacket(14, ["H:vm:27"])), "00524553" + "0000000e" + "00000007" + hex(bytes("H:vm:27")));
  });

  test("WORK_COMPLETE keeps NULs in its result", () => {
    assert.equal(hex(encodePacket(13, ["H:vm:1"], bytes("result\0bin"))), wire("RES", 13, "H:vm:1\0result\0bin"));
  });

  test("argument-less packets are a bare header", () => {
    assert.equal(hex(encodePacket(6)), "00524553" + "00000006" + "00000000");
    assert.equal(hex(encodePacket(10, [])), "00524553" + "0000000a" + "00000000");
    assert.equal(hex(encodePacket(39, [], undefined, "REQ")), "00524551" + "00000027" + "00000000");
  });

  test("empty opaque data after fields still writes the separator", () => {
    assert.equal(hex(encodePacket(7, ["f", "u"], new Uint8Array(0), "REQ")), wire("REQ", 7, "f\0u\0"));
    assert.equal(hex(encodePacket(17, [], new Uint8Array(0))), wire("RES", 17, ""));
  });

  test("STATUS_RES and ERROR separate every field by one NUL", () => {
    assert.equal(hex(encodePacket(20, ["H:t:1", "1", "1", "3", "10"])), wire("RES", 20, "H:t:1\x001\x001\x003\x0010"));
    assert.equal(
      hex(encodePacket(19, ["QUEUE_ERROR", "Job queue is full"])),
      wire("RES", 19, "QUEUE_ERROR\0Job queue is full"),
    );
  });

  test("a type code above 255 is written big-endian over four bytes", () => {
    assert.equal(hex(encodePacket(0x01020304, [])), "00524553" + "01020304" + "00000000");
  });
});

describe("encoder: latin1 byte transparency", () => {
  test("each of the 256 byte values in a short string argument comes out as that byte", () => {
    for (let b = 0; b < 256; b++) {
      const got = encodePacket(1, [String.fromCharCode(b)], undefined, "REQ");
      assert.equal(got.length, 13, `byte ${b}`);
      assert.equal(got[12], b, `byte ${b}`);
    }
  });

  test("all 256 byte values in one long argument (the bulk-copy path) come out unchanged", () => {
    const got = encodePacket(22, [ALL_BYTES], undefined, "REQ");
    assert.equal(Buffer.from(got).readUInt32BE(8), 256);
    assert.equal(hex(got.subarray(12)), hex(Uint8Array.from({ length: 256 }, (_, i) => i)));
  });

  test("high bytes in NUL-separated fields and data decode back to the same strings", () => {
    const noNul = ALL_BYTES.slice(1);
    const short = "\x80\xff\xe9";
    const packet = encodePacket(31, [noNul, short, "u\x7f"], bytes(ALL_BYTES), "RES");
    const [f] = new Decoder({ expect: "RES" }).push(packet);
    assert.ok(f?.kind === "packet");
    assert.deepEqual(f.args, [noNul, short, "u\x7f"]);
    assert.equal(Buffer.from(f.data!).toString("latin1"), ALL_BYTES);
  });

  test("encodeText maps characters 0..255 to single bytes", () => {
    const expected = hex(Uint8Array.from({ length: 256 }, (_, i) => i));
    assert.equal(hex(encodeText(ALL_BYTES)), expected);
    assert.equal(hex(encodeText("OK\r\n")), "4f4b0d0a");
  });
});
