import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { encodeHandlePacket, encodeHandlePackets, encodePacket } from "../../src/protocol/encoder.ts";
import { Cmd } from "../../src/protocol/commands.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const data = Buffer.from("payload\0with a NUL", "latin1");

describe("encoder: replies written from a handle's prefix and id", () => {
  test("each hot reply has the same bytes as the general encoder's", () => {
    const cases: [number, string, number, Uint8Array | undefined, string[]][] = [
      [Cmd.JOB_CREATED, "H:vm.1", 0, undefined, []],
      [Cmd.JOB_CREATED, "H:vm.1", 7, undefined, []],
      [Cmd.JOB_CREATED, "H:vm.1", 9_007_199_254_740_991, undefined, []],
      [Cmd.JOB_ASSIGN, "H:vm.1", 42, data, ["fn"]],
      [Cmd.JOB_ASSIGN_UNIQ, "H:vm.1", 1000, data, ["fn", "u-1"]],
      [Cmd.JOB_ASSIGN_UNIQ, "H:vm.1", 10, new Uint8Array(0), ["fn", ""]],
      [Cmd.JOB_ASSIGN_ALL, "H:vm.1", 123456789, data, ["fn", "u", "reduce"]],
      [Cmd.WORK_COMPLETE, "H:other", 99, data, []],
      [Cmd.WORK_COMPLETE, "H:other", 99, new Uint8Array(0), []],
      [Cmd.WORK_FAIL, "H:x", 5, undefined, []],
      [Cmd.JOB_ASSIGN_UNIQ, "H:big", 77, new Uint8Array(70_000).fill(0xab), ["fn", "u"]], // a large reply: not zero-filled first
      [Cmd.WORK_COMPLETE, "H:big", 78, new Uint8Array(5000).fill(1), []],
    ];
    for (const [code, prefix, id, payload, rest] of cases) {
      const got = encodeHandlePacket(code, prefix, id, payload, rest[0], rest[1], rest[2]);
      const want = encodePacket(code, [`${prefix}:${id}`, ...rest], payload);
      assert.equal(hex(got), hex(want), `code ${code} id ${id} args ${JSON.stringify(rest)}`);
    }
  });

  test("a name with bytes above 127 comes out byte for byte (latin1)", () => {
    const name = String.fromCharCode(0xe9, 0xff, 0x80);
    assert.equal(hex(encodeHandlePacket(Cmd.JOB_ASSIGN, "H:h", 3, data, name)), hex(encodePacket(Cmd.JOB_ASSIGN, ["H:h:3", name], data)));
  });

  test("a run of JOB_CREATED replies is one buffer with the bytes of each reply in order, from any slice of the jobs", () => {
    const jobs = [
      { prefix: "H:vm.1", id: 9 },
      { prefix: "H:vm.1", id: 10 },
      { prefix: "H:old", id: 1_099_511_627_777 },
      { prefix: "H:vm.1", id: 0 },
    ];
    const each = (from: number, to: number) =>
      jobs.slice(from, to).map((j) => hex(encodePacket(Cmd.JOB_CREATED, [`${j.prefix}:${j.id}`]))).join("");
    assert.equal(hex(encodeHandlePackets(Cmd.JOB_CREATED, jobs)), each(0, 4));
    assert.equal(hex(encodeHandlePackets(Cmd.JOB_CREATED, jobs, 1, 3)), each(1, 3));
    assert.equal(encodeHandlePackets(Cmd.JOB_CREATED, jobs, 2, 2).length, 0);
    const many = Array.from({ length: 100 }, (_, i) => ({ prefix: "H:vm.1", id: 1000 + i })); // over 1 KiB: the unzeroed path
    assert.equal(
      hex(encodeHandlePackets(Cmd.JOB_CREATED, many)),
      many.map((j) => hex(encodePacket(Cmd.JOB_CREATED, [`H:vm.1:${j.id}`]))).join(""),
    );
  });
});
