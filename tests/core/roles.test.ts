import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CoreSession } from "../helpers/core_session.ts";
import { NO_ROLES, roleSet } from "../../src/core/roles.ts";

const C = 1, W = 2, A = 9;

function counter(s: CoreSession, name: string): number {
  const row = s.admin(A, "counters").split("\n").find((l) => l.startsWith(name + "\t"));
  return row ? Number(row.split("\t")[1]) : 0;
}

function session(): CoreSession {
  const s = new CoreSession();
  s.open(C, W, A);
  s.core.setRoles(C, roleSet(["client"]));
  s.core.setRoles(W, roleSet(["worker"]));
  return s;
}

describe("core: roles", () => {
  test("a client-only connection's CAN_DO is refused, counted, creates no function, and the connection goes on", () => {
    const s = session();
    s.send(C, "CAN_DO", "f");
    assert.deepEqual(s.take(C), ["ERROR PERMISSION_DENIED\0CAN_DO needs the worker role; this connection has client"]);
    assert.equal(counter(s, "permission_denied"), 1);
    assert.equal(s.admin(A, "status"), ".\n", "no function record");
    s.send(C, "ECHO_REQ", "still here");
    assert.deepEqual(s.take(C), ["ECHO_RES still here"]);
    s.send(C, "SUBMIT_JOB_BG", "g", "", "x");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1"]);
  });

  test("a worker-only connection's SUBMIT_JOB and GET_STATUS are refused and create no job", () => {
    const s = session();
    s.send(W, "SUBMIT_JOB", "f", "", "x");
    s.send(W, "GET_STATUS", "H:t:1");
    assert.deepEqual(s.take(W), [
      "ERROR PERMISSION_DENIED\0SUBMIT_JOB needs the client role; this connection has worker",
      "ERROR PERMISSION_DENIED\0GET_STATUS needs the client role; this connection has worker",
    ]);
    assert.equal(counter(s, "permission_denied"), 2);
    assert.equal(s.core.view.jobs.size, 0);
    s.send(W, "CAN_DO", "f");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["NO_JOB"]);
  });

  test("a worker-only connection may not send admin lines, a client-only one neither", () => {
    const s = session();
    assert.equal(s.admin(W, "status"), "ERR PERMISSION_DENIED status+needs+the+admin-read+role;+this+connection+has+worker\r\n");
    assert.equal(s.admin(C, "version"), "ERR PERMISSION_DENIED version+needs+the+admin-read+role;+this+connection+has+client\r\n");
  });

  test("an admin-read connection reads but every destructive command is refused and changes nothing", () => {
    const s = session();
    s.core.setRoles(A, roleSet(["admin-read"]));
    s.send(C, "SUBMIT_JOB_BG", "f", "", "x");
    s.take(C);
    const before = s.admin(A, "status");
    assert.equal(before, "f\t1\t0\t0\n.\n");
    for (
      const line of [
        "shutdown",
        "shutdown graceful",
        "cancel job H:t:1",
        "drop function f",
        "create function g",
        "job retry all",
        "job cancel H:t:1",
        "job purge f",
        "store backup b1",
        "maxqueue f 1",
        "maxqueue f",
      ]
    ) {
      assert.match(s.admin(A, line), /^ERR PERMISSION_DENIED .*needs\+the\+admin\+role;\+this\+connection\+has\+admin-read\r\n$/, line);
    }
    assert.equal(counter(s, "permission_denied"), 11);
    assert.deepEqual(s.effects.filter((e) => e.kind === "shutdown" || e.kind === "backup"), []);
    assert.equal(s.admin(A, "status"), before, "the job and the function are untouched");
    assert.match(s.admin(A, "job list"), /^H:t:1\tf\tqueued/);
    assert.match(s.admin(A, "job show H:t:1"), /^handle\tH:t:1/);
    assert.match(s.admin(A, "workers"), /\.\n$/);
  });

  test("an admin connection may do what admin-read may, and change things", () => {
    const s = session();
    s.core.setRoles(A, roleSet(["admin"]));
    assert.equal(s.admin(A, "create function g"), "OK\r\n");
    assert.equal(s.admin(A, "status"), "g\t0\t0\t0\n.\n");
    assert.equal(counter(s, "permission_denied"), 0);
  });

  test("a connection with no role may still ECHO and set its id, and nothing else", () => {
    const s = session();
    s.core.setRoles(C, NO_ROLES);
    s.send(C, "ECHO_REQ", "e");
    s.send(C, "SET_CLIENT_ID", "me");
    s.send(C, "GRAB_JOB");
    assert.deepEqual(s.take(C), ["ECHO_RES e", "ERROR PERMISSION_DENIED\0GRAB_JOB needs the worker role; this connection has none"]);
  });
});
