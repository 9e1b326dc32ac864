import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { StoredJob } from "../../src/core/job.ts";
import { CoreSession, T0 } from "../helpers/core_session.ts";

const C = 1, C2 = 2, W = 11, A = 99;
const FULL = "ERROR QUEUE_ERROR\0Job queue is full";

function stored(id: number, fn: string, unique: string, data: string, priority: number, more: Partial<StoredJob> = {}): StoredJob {
  return {
    id,
    handle: `H:old:${id}`,
    function: fn,
    unique,
    data: Buffer.from(data, "latin1"),
    reducer: "",
    priority: priority as StoredJob["priority"],
    runAt: 0,
    createdAt: T0 - 60_000,
    retries: 0,
    failures: [],
    ended: undefined,
    ...more,
  };
}

describe("core session: queue limits", () => {
  test("maxqueue f 2: the third job is refused, foreground too, but a duplicate unique still coalesces (G32)", () => {
    const s = new CoreSession().open(C, C2, W, A);
    assert.equal(s.admin(A, "maxqueue f 2"), "OK\r\n");
    s.send(C, "SUBMIT_JOB_BG", "f", "u1", "1");
    s.send(C, "SUBMIT_JOB_BG", "f", "u2", "2");
    s.send(C, "SUBMIT_JOB_BG", "f", "u3", "3");
    s.send(C2, "SUBMIT_JOB", "f", "u4", "4");
    s.send(C, "SUBMIT_JOB_BG", "f", "u1", "again");
    s.send(C2, "SUBMIT_JOB", "f", "u2", "fg joins");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", "JOB_CREATED H:t:2", FULL, "JOB_CREATED H:t:1"]);
    assert.deepEqual(s.take(C2), [FULL, "JOB_CREATED H:t:2"]);
    assert.equal(s.admin(A, "status"), "f\t2\t0\t0\n.\n");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "WORK_COMPLETE", "H:t:1", "ok");
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "f", "u5", "5"), "H:t:3", "refused submissions used no handle");
  });

  test("maxqueue f 5 1 0 limits each priority against the function's total (G33)", () => {
    const s = new CoreSession().open(C, A);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "a");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "b");
    s.take(C);
    assert.equal(s.admin(A, "maxqueue f 5 1 0"), "OK\r\n");
    s.send(C, "SUBMIT_JOB_HIGH_BG", "f", "", "h");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "n");
    s.send(C, "SUBMIT_JOB_LOW_BG", "f", "", "l");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:3", FULL, "JOB_CREATED H:t:4"]);
    assert.equal(s.admin(A, "maxqueue f"), "OK\r\n");
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "f", "", "n2"), "H:t:5");
  });

  test("a limit set before the function existed applies to its first jobs", () => {
    const s = new CoreSession().open(C, A);
    assert.equal(s.admin(A, "maxqueue new 1"), "OK\r\n");
    s.send(C, "SUBMIT_JOB_LOW", "new", "", "a");
    s.send(C, "SUBMIT_JOB_HIGH", "new", "", "b");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", FULL]);
  });

  test("the maxQueue option is the default limit of new functions", () => {
    const s = new CoreSession({ maxQueue: 1 }).open(C);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "a");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "b");
    s.send(C, "SUBMIT_JOB_BG", "g", "", "c");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", FULL, "JOB_CREATED H:t:2"]);
  });
});

describe("core session: restore", () => {
  test("restored jobs are queued again with their handles, and new handles continue after the highest", () => {
    const s = new CoreSession().open();
    s.restore([
      stored(5, "f", "u5", "five", 1),
      stored(9, "f", "", "nine", 0, { retries: 2 }),
      stored(7, "g", "u7", "seven", 1, { runAt: T0 + 5000 }),
    ]);
    assert.deepEqual(s.takeEffects("persist"), [], "restored jobs are not stored again");
    s.open(C, W, A);
    assert.equal(s.admin(A, "status"), "f\t2\t0\t0\ng\t1\t0\t0\n.\n");
    assert.equal(s.admin(A, "show jobs"), "H:old:5\t0\t0\t1\nH:old:7\t0\t0\t1\nH:old:9\t2\t0\t1\n.\n");
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "f", "", "new"), "H:t:10");
    assert.equal(s.submit(C, "SUBMIT_JOB", "f", "u5", "dup"), "H:old:5", "a restored unique still coalesces");
    s.send(C, "GET_STATUS", "H:old:9");
    assert.deepEqual(s.take(C), ["STATUS_RES H:old:9\x001\x000\x000\x000"]);
    s.canDo(W, "f", "g");
    for (let i = 0; i < 4; i++) s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:old:9\0f\0nine", "JOB_ASSIGN H:old:5\0f\0five", "JOB_ASSIGN H:t:10\0f\0new", "NO_JOB"]);
    s.send(W, "WORK_COMPLETE", "H:old:5", "done");
    assert.deepEqual(s.take(C), ["WORK_COMPLETE H:old:5\0done"]);
    assert.deepEqual(s.takeEffects("forget").map((e) => e.id), [5]);
    s.send(W, "PRE_SLEEP");
    s.advance(5000);
    assert.deepEqual(s.take(W), ["NOOP"], "the scheduled restored job wakes the worker when due");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:old:7\0g\0seven"]);
  });

  test("a handle of the same number but another prefix is not the restored job", () => {
    const s = new CoreSession().open();
    s.restore([stored(3, "f", "", "x", 1)]);
    s.open(C);
    s.send(C, "GET_STATUS", "H:t:3");
    s.send(C, "GET_STATUS", "H:old:3");
    assert.deepEqual(s.take(C), ["STATUS_RES H:t:3\x000\x000\x000\x000", "STATUS_RES H:old:3\x001\x000\x000\x000"]);
  });

  test("a restored '-' job still coalesces with a resubmission of the same data", () => {
    const s = new CoreSession().open();
    s.restore([stored(3, "f", "-", "same", 1), stored(4, "f", "-", "other", 1)]);
    s.open(C);
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "f", "-", "same"), "H:old:3");
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", "f", "-", "other"), "H:old:4");
  });
});

describe("core session: names and ids", () => {
  test("function names: empty, too long, whitespace or control bytes are refused; 512 bytes are fine", () => {
    const s = new CoreSession().open(C, W);
    const cases: [string, string][] = [
      ["", "ERROR INVALID_FUNCTION_NAME\0Function name must not be empty"],
      ["f".repeat(513), "ERROR ARGUMENT_TOO_LARGE\0Function name too large"],
      ["a b", "ERROR INVALID_FUNCTION_NAME\0Function name contains whitespace or control bytes"],
      ["a\tb", "ERROR INVALID_FUNCTION_NAME\0Function name contains whitespace or control bytes"],
      ["a\nb", "ERROR INVALID_FUNCTION_NAME\0Function name contains whitespace or control bytes"],
      ["a\x01", "ERROR INVALID_FUNCTION_NAME\0Function name contains whitespace or control bytes"],
      ["del\x7f", "ERROR INVALID_FUNCTION_NAME\0Function name contains whitespace or control bytes"],
    ];
    for (const [name, error] of cases) {
      s.send(C, "SUBMIT_JOB_BG", name, "", "x");
      assert.deepEqual(s.take(C), [error], `submit ${JSON.stringify(name.slice(0, 8))}`);
      s.send(W, "CAN_DO", name);
      assert.deepEqual(s.take(W), [error], `CAN_DO ${JSON.stringify(name.slice(0, 8))}`);
    }
    assert.equal(s.status(), ".\n");
    const long = "f".repeat(512);
    assert.equal(s.submit(C, "SUBMIT_JOB_BG", long, "", "x"), "H:t:1");
    s.send(W, "CAN_DO_TIMEOUT", long, "5000");
    s.send(W, "CAN_DO", "caf\xe9");
    assert.deepEqual(s.take(W), []);
    assert.equal(s.status(), `caf\xe9\t0\t0\t1\n${long}\t1\t0\t1\n.\n`);
  });

  test("a unique of 64 bytes is accepted and 65 is refused with ARGUMENT_TOO_LARGE; the connection goes on", () => {
    const s = new CoreSession().open(C);
    s.send(C, "SUBMIT_JOB_BG", "f", "u".repeat(64), "x");
    s.send(C, "SUBMIT_JOB_BG", "f", "u".repeat(65), "x");
    s.send(C, "SUBMIT_JOB", "f", "v".repeat(65), "x");
    s.send(C, "ECHO_REQ", "still here");
    assert.deepEqual(s.take(C), [
      "JOB_CREATED H:t:1",
      "ERROR ARGUMENT_TOO_LARGE\0Unique value too large",
      "ERROR ARGUMENT_TOO_LARGE\0Unique value too large",
      "ECHO_RES still here",
    ]);
  });

  test("SET_CLIENT_ID is truncated to 127 bytes, whitespace and control bytes become ?, and empty means -", () => {
    const s = new CoreSession().open(W, A);
    const row = () => s.admin(A, "workers").split("\n")[0];
    s.send(W, "SET_CLIENT_ID", "id with space");
    assert.equal(row(), "11 127.0.0.1 id?with?space :");
    s.send(W, "SET_CLIENT_ID", "evil\nfake 0 row\r\0x\x7f");
    assert.equal(row(), "11 127.0.0.1 evil?fake?0?row??x? :");
    s.send(W, "SET_CLIENT_ID", "x".repeat(200));
    assert.equal(row(), `11 127.0.0.1 ${"x".repeat(127)} :`);
    s.send(W, "SET_CLIENT_ID", "");
    assert.equal(row(), "11 127.0.0.1 - :");
    assert.deepEqual(s.take(W), [], "SET_CLIENT_ID has no reply");
  });

  test("OPTION_REQ exceptions is case-insensitive and echoed as sent; others get UNKNOWN_OPTION", () => {
    const s = new CoreSession().open(C);
    s.send(C, "OPTION_REQ", "EXCEPTIONS");
    s.send(C, "OPTION_REQ", "bogus");
    s.send(C, "OPTION_REQ", "exceptions2");
    assert.deepEqual(s.take(C), [
      "OPTION_RES EXCEPTIONS",
      "ERROR UNKNOWN_OPTION\0Server does not recognize given option",
      "ERROR UNKNOWN_OPTION\0Server does not recognize given option",
    ]);
  });

  test("the exceptions server option turns WORK_EXCEPTION on for every client", () => {
    const s = new CoreSession({ exceptions: true }).open(C, W);
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "WORK_EXCEPTION", "H:t:1", "boom");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", "WORK_EXCEPTION H:t:1\0boom"]);
  });
});

describe("core session: packets the server does not take", () => {
  test("response-only and unimplemented packet types get ERROR INVALID_COMMAND and the connection goes on", () => {
    const s = new CoreSession().open(C);
    const wellFormed: [string, string[]][] = [
      ["NOOP", []],
      ["JOB_CREATED", ["H:t:1"]],
      ["NO_JOB", []],
      ["JOB_ASSIGN", ["H:t:1", "f", "d"]],
      ["ECHO_RES", ["e"]],
      ["ERROR", ["X", "y"]],
      ["STATUS_RES", ["h", "1", "0", "0", "0"]],
      ["ALL_YOURS", []],
      ["OPTION_RES", ["exceptions"]],
      ["JOB_ASSIGN_UNIQ", ["h", "f", "u", "d"]],
      ["SUBMIT_JOB_SCHED", ["f", "u", "1", "2", "3", "4", "5", "d"]],
      ["JOB_ASSIGN_ALL", ["h", "f", "u", "r", "d"]],
      ["STATUS_RES_UNIQUE", ["u", "1", "0", "0", "0", "0"]],
    ];
    for (const [name, args] of wellFormed) {
      s.send(C, name, ...args);
      assert.deepEqual(s.take(C), ["ERROR INVALID_COMMAND\0Command not expected"], name);
    }
    s.sendCode(C, 5);
    assert.deepEqual(s.take(C), ["ERROR INVALID_COMMAND\0Command not expected"], "unused type 5");
    s.send(C, "ECHO_REQ", "");
    assert.deepEqual(s.take(C), ["ECHO_RES"]);
    assert.deepEqual(s.takeEffects("close"), []);
  });

  test("\\0RES magic gets INVALID_MAGIC and the connection goes on; a bad magic closes it", () => {
    const s = new CoreSession().open(C, C2);
    s.raw(C, Buffer.from("\0RES\0\0\0\x10\0\0\0\x02hi", "latin1"));
    s.send(C, "ECHO_REQ", "ok");
    assert.deepEqual(s.take(C), ["ERROR INVALID_MAGIC\0Request magic expected", "ECHO_RES ok"]);
    s.raw(C2, Buffer.from("\0XYZ\0\0\0\x10\0\0\0\x00", "latin1"));
    assert.deepEqual(s.take(C2), ["ERROR INVALID_MAGIC\0Bad magic in packet header"]);
    assert.deepEqual(s.takeEffects("close").map((e) => e.conn), [C2]);
  });

  test("a packet with too few arguments gets ERROR INVALID_PACKET and the next one is answered", () => {
    const s = new CoreSession().open(C);
    s.raw(C, Buffer.from("\0REQ\0\0\0\x12\0\0\0\x08justdata", "latin1"));
    s.send(C, "ECHO_REQ", "next");
    assert.deepEqual(s.take(C), ["ERROR INVALID_PACKET\0Packet has too few arguments for its type", "ECHO_RES next"]);
    assert.equal(s.status(), ".\n");
  });

  test("ECHO_REQ returns its payload byte for byte, NULs included", () => {
    const s = new CoreSession().open(C);
    s.send(C, "ECHO_REQ", "hello\0world\xff");
    assert.deepEqual(s.take(C), ["ECHO_RES hello\0world\xff"]);
  });

  test("GET_STATUS and GET_STATUS_UNIQUE for unknown jobs answer known=0", () => {
    const s = new CoreSession().open(C);
    s.send(C, "GET_STATUS", "H:nohost:12345");
    s.send(C, "GET_STATUS_UNIQUE", "nope");
    s.send(C, "GET_STATUS", "");
    assert.deepEqual(s.take(C), [
      "STATUS_RES H:nohost:12345\x000\x000\x000\x000",
      "STATUS_RES_UNIQUE nope\x000\x000\x000\x000\x000",
      "STATUS_RES \x000\x000\x000\x000",
    ]);
  });

  test("GET_STATUS follows a job: queued, running, WORK_STATUS parsed like atoi, reset on requeue, gone after completion", () => {
    const s = new CoreSession().open(C, W, C2);
    const h = s.submit(C, "SUBMIT_JOB_BG", "f", "u", "x");
    const status = () => {
      s.send(C2, "GET_STATUS", h);
      s.send(C2, "GET_STATUS_UNIQUE", "u");
      return s.take(C2).map((p) => p.split("\0").slice(1).join(" "));
    };
    assert.deepEqual(status(), ["1 0 0 0", "1 0 0 0 0"]);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(status(), ["1 1 0 0", "1 1 0 0 0"]);
    s.send(W, "WORK_STATUS", h, "3", "10");
    assert.deepEqual(status(), ["1 1 3 10", "1 1 3 10 0"]);
    s.send(W, "WORK_STATUS", h, "7x", "abc");
    assert.deepEqual(status(), ["1 1 7 0", "1 1 7 0 0"]);
    s.send(W, "CANT_DO", "f");
    assert.deepEqual(status(), ["1 0 0 0", "1 0 0 0 0"]);
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    s.send(W, "WORK_COMPLETE", h, "done");
    assert.deepEqual(status(), ["0 0 0 0", "0 0 0 0 0"]);
  });

  test("CAN_DO_TIMEOUT expiries count against job_retries", () => {
    const s = new CoreSession({ jobRetries: 2 }).open(C, W);
    s.send(W, "CAN_DO_TIMEOUT", "f", "1000");
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    s.send(W, "GRAB_JOB");
    s.advance(1000);
    s.send(W, "GRAB_JOB");
    s.advance(1000);
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", "WORK_FAIL H:t:1"]);
    assert.equal(s.status(), "f\t0\t0\t1\n.\n");
  });

  test("a WORK_FAIL with an overlong handle gets ARGUMENT_TOO_LARGE", () => {
    const s = new CoreSession().open(W);
    s.send(W, "WORK_FAIL", "H:" + "x".repeat(63));
    assert.deepEqual(s.take(W), ["ERROR ARGUMENT_TOO_LARGE\0Job handle too large"]);
  });
});
