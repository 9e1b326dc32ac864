import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { encodePacket } from "../../src/protocol/encoder.ts";
import { CoreSession } from "../helpers/core_session.ts";

const C = 1, C2 = 2, W = 11, W2 = 12, A = 99;

describe("core session: admin listings", () => {
  test("status lists every function sorted by name: total, running, workers", () => {
    const s = new CoreSession().open(C, W, W2, A);
    assert.equal(s.admin(A, "status"), ".\n");
    s.canDo(W, "b", "a");
    s.canDo(W2, "b");
    s.send(C, "SUBMIT_JOB_BG", "b", "", "1");
    s.send(C, "SUBMIT_JOB", "b", "", "2");
    s.send(C, "SUBMIT_JOB_BG", "Z", "", "3");
    s.send(W, "GRAB_JOB");
    assert.equal(s.admin(A, "status"), "Z\t1\t0\t0\na\t0\t0\t1\nb\t2\t1\t2\n.\n");
    assert.equal(s.admin(A, "STATUS extra args"), "Z\t1\t0\t0\na\t0\t0\t1\nb\t2\t1\t2\n.\n", "case and extra tokens");
  });

  test("prioritystatus counts waiting jobs per priority (running ones excluded)", () => {
    const s = new CoreSession().open(C, W, A);
    s.send(C, "SUBMIT_JOB_HIGH_BG", "f", "", "h");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "n");
    s.send(C, "SUBMIT_JOB_LOW_BG", "f", "", "l1");
    s.send(C, "SUBMIT_JOB_LOW", "f", "", "l2");
    s.send(C, "SUBMIT_JOB_BG", "g", "", "n");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.equal(s.admin(A, "prioritystatus"), "f\t0\t1\t2\t1\ng\t0\t1\t0\t0\n.\n");
  });

  test("workers lists every connection as `FD IP ID : functions`, newest registration first", () => {
    const s = new CoreSession().open(C, W, A);
    s.send(W, "SET_CLIENT_ID", "my-worker-1");
    s.canDo(W, "a", "b", "c");
    assert.equal(s.admin(A, "workers"), "1 127.0.0.1 - :\n11 127.0.0.1 my-worker-1 : c b a\n99 127.0.0.1 - :\n.\n");
    s.send(W, "CANT_DO", "a");
    s.canDo(W, "b"); // a duplicate moves to the front and is not counted twice
    assert.equal(s.admin(A, "workers"), "1 127.0.0.1 - :\n11 127.0.0.1 my-worker-1 : b c\n99 127.0.0.1 - :\n.\n");
    assert.equal(s.admin(A, "status"), "a\t0\t0\t0\nb\t0\t0\t1\nc\t0\t0\t1\n.\n");
    s.close(C);
    assert.equal(s.admin(A, "workers"), "11 127.0.0.1 my-worker-1 : b c\n99 127.0.0.1 - :\n.\n");
  });

  test("show jobs lists handle, retries, 0 and whether the job is background", () => {
    const s = new CoreSession().open(C, W, A);
    s.send(C, "SUBMIT_JOB", "f", "", "fg");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "bg");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.equal(s.admin(A, "show jobs"), "H:t:1\t0\t0\t0\nH:t:2\t0\t0\t1\n.\n");
    assert.equal(s.admin(A, "SHOW   JOBS"), "H:t:1\t0\t0\t0\nH:t:2\t0\t0\t1\n.\n");
  });

  test("show unique jobs prints one line per job, empty for an empty unique", () => {
    const s = new CoreSession().open(C, A);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "1");
    s.send(C, "SUBMIT_JOB_BG", "f", "-", "2");
    s.send(C, "SUBMIT_JOB_BG", "f", "bgu", "3");
    s.send(C, "SUBMIT_JOB_BG", "f", "", "4");
    assert.equal(s.admin(A, "show unique jobs"), "\n-\nbgu\n\n.\n");
    assert.equal(s.admin(A, "SHOW UNIQUE JOBS"), "\n-\nbgu\n\n.\n");
    assert.equal(s.admin(A, "show foo"), "ERR UNKNOWN_SHOW_ARGUMENTS\r\n");
    assert.equal(s.admin(A, "show"), "ERR UNKNOWN_SHOW_ARGUMENTS\r\n");
  });

  test("jobs and clients give Gearman::Server's listings", () => {
    const s = new CoreSession().open(C, C2, W, A);
    s.send(C, "SUBMIT_JOB", "f", "u", "x");
    s.send(C2, "SUBMIT_JOB", "f", "u", "x");
    s.send(C2, "SUBMIT_JOB_BG", "g", "", "y");
    s.canDo(W, "f");
    s.send(W, "GRAB_JOB");
    assert.equal(s.admin(A, "jobs"), "f\tu\t127.0.0.1:50011\t2\ng\t\t-\t0\n.\n");
    assert.equal(
      s.admin(A, "clients"),
      "127.0.0.1:50001\n\tf\tu\t127.0.0.1:50011\n127.0.0.1:50002\n\tf\tu\t127.0.0.1:50011\n127.0.0.1:50011\n127.0.0.1:50099\n.\n",
    );
  });
});

describe("core session: admin commands", () => {
  test("cancel job removes queued jobs: listeners get WORK_FAIL and no worker ever sees them", () => {
    const s = new CoreSession().open(C, W, A);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "bg");
    s.send(C, "SUBMIT_JOB", "f", "", "fg");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", "JOB_CREATED H:t:2"]);
    assert.equal(s.admin(A, "cancel job H:t:1"), "OK\r\n");
    assert.deepEqual(s.takeEffects("forget").map((e) => e.id), [1]);
    assert.equal(s.admin(A, "CANCEL JOB H:t:2"), "OK\r\n");
    assert.deepEqual(s.take(C), ["WORK_FAIL H:t:2"]);
    assert.deepEqual(s.takeEffects("forget"), [], "a foreground job was never stored");
    assert.equal(s.admin(A, "status"), "f\t0\t0\t0\n.\n");
    s.sleeper(W, "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
    assert.equal(s.admin(A, "cancel job H:t:1"), "ERR UNKNOWN_JOB\r\n");
  });

  test("cancel job on a running job fails it for listeners and swallows the worker's late results", () => {
    const s = new CoreSession().open(C, W, A);
    s.canDo(W, "f");
    s.send(C, "SUBMIT_JOB", "f", "", "x");
    s.send(W, "GRAB_JOB");
    s.take(C);
    s.take(W);
    assert.equal(s.admin(A, "cancel job H:t:1"), "OK\r\n");
    assert.deepEqual(s.take(C), ["WORK_FAIL H:t:1"]);
    assert.equal(s.admin(A, "status"), "f\t0\t0\t1\n.\n");
    s.send(W, "WORK_STATUS", "H:t:1", "1", "2");
    s.send(W, "WORK_DATA", "H:t:1", "d");
    s.send(W, "WORK_COMPLETE", "H:t:1", "late");
    assert.deepEqual(s.take(W), [], "no ERROR for the cancelled job's results");
    assert.deepEqual(s.take(C), [], "listeners hear nothing after the WORK_FAIL");
  });

  test("cancel with the wrong arguments", () => {
    const s = new CoreSession().open(A);
    assert.equal(s.admin(A, "cancel job H:x:1"), "ERR UNKNOWN_JOB\r\n");
    assert.equal(s.admin(A, "cancel foo bar"), "ERR UNKNOWN_ERROR\r\n");
    assert.equal(s.admin(A, "cancel job"), "ERR UNKNOWN_COMMAND Unknown+server+commandcancel\r\n");
    assert.equal(s.admin(A, "cancel"), "ERR UNKNOWN_COMMAND Unknown+server+commandcancel\r\n");
  });

  test("create function makes a record (the whole name, even with a bare LF)", () => {
    const s = new CoreSession().open(A);
    assert.equal(s.admin(A, "create function abc", "\n"), "OK\r\n");
    assert.equal(s.admin(A, "CREATE FUNCTION xyz"), "OK\r\n");
    assert.equal(s.admin(A, "status"), "abc\t0\t0\t0\nxyz\t0\t0\t0\n.\n");
    const invalid = "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r\n";
    assert.equal(s.admin(A, "create function"), invalid);
    assert.equal(s.admin(A, "create"), invalid);
    assert.equal(s.admin(A, "create table t"), invalid);
    assert.equal(s.admin(A, "create function a\x01b"), invalid);
  });

  test("drop function is refused while workers, running or queued jobs remain", () => {
    const s = new CoreSession().open(C, W, A);
    assert.equal(s.admin(A, "drop function nope"), "ERR function not found\r\n");
    assert.equal(s.admin(A, "drop function"), "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+drop\r\n");
    const busy = "ERR there are still connected workers or executing clients\r\n";
    s.canDo(W, "f");
    assert.equal(s.admin(A, "drop function f"), busy);
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.send(W, "GRAB_JOB");
    assert.equal(s.admin(A, "drop function f"), busy, "running job and worker");
    s.close(W); // the job goes back to the queue
    assert.equal(s.admin(A, "drop function f"), "ERR there are still queued jobs\r\n");
    assert.equal(s.admin(A, "cancel job H:t:1"), "OK\r\n");
    assert.equal(s.admin(A, "drop function F"), "OK\r\n", "names compare case-insensitively");
    assert.equal(s.admin(A, "status"), ".\n");
    assert.equal(s.admin(A, "drop function f"), "ERR function not found\r\n");
  });

  test("maxqueue argument errors", () => {
    const s = new CoreSession().open(A);
    const invalid = "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r\n";
    assert.equal(s.admin(A, "maxqueue"), invalid);
    assert.equal(s.admin(A, "maxqueue f x"), invalid);
    assert.equal(s.admin(A, "maxqueue f 1 2 z"), invalid);
    assert.equal(s.admin(A, "maxqueue f\x7f 1"), invalid);
    assert.equal(s.admin(A, "status"), ".\n", "a refused maxqueue creates nothing");
    assert.equal(s.admin(A, "maxqueue f 5"), "OK\r\n");
    assert.equal(s.admin(A, "maxqueue g"), "OK\r\n");
    assert.equal(s.admin(A, "maxqueue h -1 0 3"), "OK\r\n");
    assert.equal(s.admin(A, "status"), "f\t0\t0\t0\ng\t0\t0\t0\nh\t0\t0\t0\n.\n", "records are created so limits stick");
  });

  test("version, getpid and verbose answer OK <value> with LF", () => {
    const s = new CoreSession().open(A);
    assert.equal(s.admin(A, "version"), "OK 1.2.3\n");
    assert.equal(s.admin(A, "getpid"), "OK 4242\n");
    assert.equal(s.admin(A, "verbose"), "OK INFO\n");
    assert.equal(s.admin(A, "VERSION"), "OK 1.2.3\n");
  });

  test("shutdown and shutdown graceful answer OK and ask the edge to stop", () => {
    const s = new CoreSession().open(A);
    assert.equal(s.admin(A, "shutdown"), "OK\n");
    assert.deepEqual(s.takeEffects("shutdown"), [{ kind: "shutdown", graceful: false }]);
    assert.equal(s.admin(A, "SHUTDOWN Graceful"), "OK\n");
    assert.deepEqual(s.takeEffects("shutdown"), [{ kind: "shutdown", graceful: true }]);
    assert.equal(s.admin(A, "shutdown now"), "ERR unknown_args Unknown+arguments+to+server+command\r\n");
    assert.deepEqual(s.takeEffects("shutdown"), []);
    const off = new CoreSession({ adminShutdown: false }).open(A);
    assert.equal(off.admin(A, "shutdown"), "ERR PERMISSION_DENIED shutdown+is+disabled+on+this+server\r\n");
    assert.deepEqual(off.takeEffects("shutdown"), []);
  });

  test("unknown commands, empty lines and a leading space get UNKNOWN_COMMAND", () => {
    const s = new CoreSession().open(A);
    assert.equal(s.admin(A, "foo"), "ERR UNKNOWN_COMMAND Unknown+server+commandfoo\r\n");
    assert.equal(s.admin(A, ""), "ERR UNKNOWN_COMMAND Unknown+server+command\r\n");
    assert.equal(s.admin(A, " status"), "ERR UNKNOWN_COMMAND Unknown+server+command\r\n");
    assert.equal(s.admin(A, "toString"), "ERR UNKNOWN_COMMAND Unknown+server+commandtoString\r\n");
    assert.equal(s.admin(A, "__proto__"), "ERR UNKNOWN_COMMAND Unknown+server+command__proto__\r\n");
  });

  test("pipelined admin lines and binary packets are answered in order", () => {
    const s = new CoreSession().open(A);
    s.raw(
      A,
      Buffer.concat([
        Buffer.from("create function abc\nstatus\nversion\r\n", "latin1"),
        encodePacket(16, [], Buffer.from("e\0cho", "latin1"), "REQ"),
        Buffer.from("getpid\n", "latin1"),
      ]),
    );
    assert.deepEqual(s.take(A), ["TEXT OK\r\nabc\t0\t0\t0\n.\nOK 1.2.3\n", "ECHO_RES e\0cho", "TEXT OK 4242\n"]);
  });

  test("an overlong admin line gets ERR LINE_TOO_LONG and the connection is closed", () => {
    const s = new CoreSession().open(A);
    s.raw(A, "x".repeat(9000));
    assert.deepEqual(s.take(A), ["TEXT ERR LINE_TOO_LONG Admin+line+longer+than+the+server+accepts\r\n"]);
    assert.deepEqual(s.takeEffects("close").map((e) => e.conn), [A]);
  });
});
