import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Cmd } from "../../src/protocol/commands.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";
import { adminTokens, errLine, invalidArguments, listReply, okValue, unknownCommand } from "../../src/protocol/admin_text.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("the encoder", () => {
  test("writes JOB_CREATED as the handle alone, with a RES header", () => {
    assert.equal(
      hex(encodePacket(Cmd.JOB_CREATED, ["H:vm:67"])),
      "00524553" + "00000008" + "00000007" + Buffer.from("H:vm:67").toString("hex"),
    );
  });

  test("writes JOB_ASSIGN_UNIQ with an empty unique as an empty field", () => {
    const p = encodePacket(Cmd.JOB_ASSIGN_UNIQ, ["H:vm:4", "pf", ""], Buffer.from("nouniq2"));
    assert.equal(Buffer.from(p.subarray(12)).toString("latin1"), "H:vm:4\0pf\0\0nouniq2");
    assert.equal(Buffer.from(p).readUInt32BE(8), 18);
  });

  test("writes WORK_FAIL as the handle without a trailing NUL", () => {
    assert.equal(Buffer.from(encodePacket(Cmd.WORK_FAIL, ["H:vm:27"]).subarray(12)).toString("latin1"), "H:vm:27");
  });

  test("writes a request magic when asked", () => {
    assert.equal(hex(encodePacket(Cmd.PRE_SLEEP, [], undefined, "REQ")), "00524551" + "00000004" + "00000000");
  });
});

describe("admin text", () => {
  test("collapses runs of spaces but keeps an empty first token for a leading space", () => {
    assert.deepEqual(adminTokens("show  unique   jobs"), ["show", "unique", "jobs"]);
    assert.deepEqual(adminTokens(" status"), ["", "status"]);
    assert.deepEqual(adminTokens(""), [""]);
  });

  test("formats replies byte for byte as gearmand does", () => {
    assert.equal(okValue("1.1.20+ds"), "OK 1.1.20+ds\n");
    assert.equal(errLine("UNKNOWN_JOB"), "ERR UNKNOWN_JOB\r\n");
    assert.equal(unknownCommand("foo"), "ERR UNKNOWN_COMMAND Unknown+server+commandfoo\r\n");
    assert.equal(
      invalidArguments("maxqueue"),
      "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r\n",
    );
    assert.equal(listReply([]), ".\n");
    assert.equal(listReply(["a\t1", "b\t2"]), "a\t1\nb\t2\n.\n");
  });
});
