import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { adminTokens, errLine, invalidArguments, listReply, OK_CRLF, okValue, unknownCommand } from "../../src/protocol/admin_text.ts";

describe("admin text: tokens (docs/protocol.md §4.1)", () => {
  test("tokens are split on single spaces", () => {
    assert.deepEqual(adminTokens("cancel job H:t:1"), ["cancel", "job", "H:t:1"]);
  });

  test("runs of spaces collapse between tokens and at the end", () => {
    assert.deepEqual(adminTokens("status   extra    args  "), ["status", "extra", "args"]);
  });

  test("a leading space yields an empty first token", () => {
    assert.deepEqual(adminTokens(" status"), ["", "status"]);
    assert.deepEqual(adminTokens("   status  x"), ["", "status", "x"]);
  });

  test("an empty line or a line of spaces is one empty token", () => {
    assert.deepEqual(adminTokens(""), [""]);
    assert.deepEqual(adminTokens("    "), [""]);
  });

  test("tabs are not separators", () => {
    assert.deepEqual(adminTokens("show\tjobs x"), ["show\tjobs", "x"]);
  });

  test("case is kept (commands compare case-insensitively elsewhere)", () => {
    assert.deepEqual(adminTokens("SHOW Unique JOBS"), ["SHOW", "Unique", "JOBS"]);
  });

  test("more than five tokens are all returned (extras are ignored, not fatal)", () => {
    assert.deepEqual(adminTokens("a b c d e f g"), ["a", "b", "c", "d", "e", "f", "g"]);
  });
});

describe("admin text: reply shapes", () => {
  test("bare OK ends in CRLF", () => {
    assert.equal(OK_CRLF, "OK\r\n");
  });

  test("OK with a value ends in LF", () => {
    assert.equal(okValue("1.1.20+ds"), "OK 1.1.20+ds\n");
    assert.equal(okValue("14000"), "OK 14000\n");
  });

  test("ERR without text is the code and CRLF", () => {
    assert.equal(errLine("UNKNOWN_JOB"), "ERR UNKNOWN_JOB\r\n");
    assert.equal(errLine("UNKNOWN_SHOW_ARGUMENTS"), "ERR UNKNOWN_SHOW_ARGUMENTS\r\n");
  });

  test("ERR text has every space replaced by +", () => {
    assert.equal(
      errLine("unknown_args", "Unknown arguments to server command"),
      "ERR unknown_args Unknown+arguments+to+server+command\r\n",
    );
    assert.equal(errLine("X", "a  b "), "ERR X a++b+\r\n");
    assert.equal(errLine("X", ""), "ERR X \r\n");
  });

  test("a list reply puts each row on its own line, then a dot", () => {
    assert.equal(listReply([]), ".\n");
    assert.equal(listReply(["f\t1\t0\t1", ""]), "f\t1\t0\t1\n\n.\n");
    assert.equal(listReply(new Set(["a", "b"])), "a\nb\n.\n");
  });

  test("unknown commands get gearmand's text with the word glued on", () => {
    assert.equal(unknownCommand("foo"), "ERR UNKNOWN_COMMAND Unknown+server+commandfoo\r\n");
    assert.equal(unknownCommand(""), "ERR UNKNOWN_COMMAND Unknown+server+command\r\n");
    assert.equal(unknownCommand("shutdown"), "ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n");
  });

  test("an unknown command word is cut to 64 bytes in the reply", () => {
    assert.equal(unknownCommand("w".repeat(200)), `ERR UNKNOWN_COMMAND Unknown+server+command${"w".repeat(64)}\r\n`);
  });

  test("missing arguments get gearmand's INVALID_ARGUMENTS text", () => {
    assert.equal(
      invalidArguments("maxqueue"),
      "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r\n",
    );
    assert.equal(
      invalidArguments("create"),
      "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r\n",
    );
  });
});
