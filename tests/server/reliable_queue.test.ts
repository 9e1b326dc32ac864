/**
 * TheSchwartz's behaviours at the wire (issue 3): retries with delay and a
 * failure log, the dead set and its operator commands, permanent failure,
 * decline with run_after, replace_with atomicity, coalescing grabs, exit
 * status retention, and the extension's opt-in. Real sockets, in-process
 * server, SQLite files where a restart is part of the story.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import type { StoreBatch } from "../../src/store/job_store.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { expectError, withServer } from "../helpers/inproc.ts";
import { waitUntil } from "../helpers/wait.ts";
import { sync } from "../helpers/scenario.ts";

async function submitBg(c: RawConn, fn: string, unique: string, data: string): Promise<string> {
  c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, unique, data);
  return (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
}

/** A worker connection for `fn`, with the reliable extension switched on when asked. */
async function worker(port: number, fn: string, reliable = false): Promise<RawConn> {
  const w = await RawConn.connect(port);
  if (reliable) {
    w.sendPacket(Cmd.OPTION_REQ, "reliable");
    assert.equal((await w.expectPacket(Cmd.OPTION_RES)).body.toString(), "reliable");
  }
  w.sendPacket(Cmd.CAN_DO, fn);
  return w;
}

async function grab(w: RawConn): Promise<{ handle: string; unique: string; data: string } | undefined> {
  w.sendPacket(Cmd.GRAB_JOB_UNIQ);
  const p = await w.expectPacket();
  if (p.code === Cmd.NO_JOB) return undefined;
  assert.equal(p.code, Cmd.JOB_ASSIGN_UNIQ);
  return { handle: p.args[0]!, unique: p.args[2]!, data: p.args.slice(3).join("\0") };
}

/** `job show HANDLE` as a map, failures as a list of messages. */
async function show(c: RawConn, handle: string): Promise<{ fields: Map<string, string>; failures: string[] }> {
  const rows = (await c.adminList(`job show ${handle}`)).split("\n").filter((r) => r !== "" && r !== ".");
  const fields = new Map<string, string>();
  const failures: string[] = [];
  for (const r of rows) {
    const [k, ...v] = r.split("\t");
    if (k === "failure") failures.push(v[1]!);
    else fields.set(k!, v.join("\t"));
  }
  return { fields, failures };
}

function tempDb(): { url: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "gearbox-reliable-"));
  return { url: `sqlite:${join(dir, "jobs.db")}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("reliable queue: failures, retries and the dead set", () => {
  test("a failed job is retried max_retries times after its delay, each failure logged, then kept in the dead set with exit status 1", () => {
    const clock = new ManualClock();
    return withServer({ clock, maxRetries: 2, retryDelay: 0.3 }, async (_s, port) => {
      const c = await RawConn.connect(port);
      const h = await submitBg(c, "flaky", "", "x");
      const w = await worker(port, "flaky");
      for (let attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0) {
          assert.equal(await grab(w), undefined, `retry ${attempt} waits for its delay`);
          clock.advance(299);
          assert.equal(await grab(w), undefined, `retry ${attempt} not 1 ms before its delay`);
          clock.advance(1);
        }
        const job = await grab(w);
        assert.equal(job?.handle, h, `attempt ${attempt} offered once its 300 ms delay passed`);
        if (attempt < 2) w.sendPacket(Cmd.WORK_FAIL, h);
        else w.sendPacket(Cmd.WORK_EXCEPTION, h, "disk on fire");
      }
      await sync(w);
      clock.advance(3_600_000);
      assert.equal(await grab(w), undefined, "out of retries: not offered again");
      const { fields, failures } = await show(c, h);
      assert.equal(fields.get("state"), "failed");
      assert.equal(fields.get("exit_status"), "1");
      assert.equal(fields.get("retries"), "2");
      assert.deepEqual(failures, ["WORK_FAIL", "WORK_FAIL", "disk on fire"]);
      assert.match(await c.adminList("job list state=failed"), new RegExp(`^${h}\tflaky\tfailed\tnormal\t2\t`));
      w.close();
      c.close();
    });
  });

  test("`job retry` puts a dead job back in its queue with a fresh retry count; `job purge state=failed` empties the dead set", () =>
    withServer({}, async (_s, port) => {
      const c = await RawConn.connect(port);
      const h1 = await submitBg(c, "dead", "", "one");
      const h2 = await submitBg(c, "dead", "", "two");
      const w = await worker(port, "dead");
      for (const h of [h1, h2]) {
        assert.equal((await grab(w))!.handle, h);
        w.sendPacket(Cmd.WORK_FAIL, h);
      }
      await sync(w);
      assert.equal((await c.adminList("job list state=failed")).split("\n").length, 4, "two rows and the end");
      assert.equal(await c.adminLine(`job retry ${h1}`), "OK 1\n");
      assert.equal(await c.adminLine(`job retry ${h1}`), "ERR NOT_FAILED only+failed+jobs+can+be+retried\r\n");
      const again = await grab(w);
      assert.deepEqual([again!.handle, again!.data], [h1, "one"], "the same job, payload intact");
      w.sendPacket(Cmd.WORK_COMPLETE, h1, "ok");
      assert.equal(await c.adminLine("job purge dead state=failed"), "OK 1\n");
      assert.equal(await c.adminList("job list state=failed"), ".\n");
      assert.equal(await c.adminLine(`job show ${h2}`), "ERR UNKNOWN_JOB\r\n");
      w.close();
      c.close();
    }));

  test("the dead set, failure log and exit status survive a restart on the SQLite store, and expire after keep_failed_for", async () => {
    const db = tempDb();
    const clock = new ManualClock();
    let h = "";
    try {
      await withServer({ clock, store: db.url, keepFailedFor: 1.5 }, async (_s, port) => {
        const c = await RawConn.connect(port);
        h = await submitBg(c, "doomed", "u-1", "payload");
        const w = await worker(port, "doomed", true);
        assert.equal((await grab(w))!.handle, h);
        w.sendPacket(Cmd.WORK_PERMANENT_FAIL, h, "7", "no such customer");
        await sync(w); // stop() then commits what the server did
        w.close();
        c.close();
      });
      await withServer({ clock, store: db.url, keepFailedFor: 1.5 }, async (_s, port) => {
        const c = await RawConn.connect(port);
        const { fields, failures } = await show(c, h);
        assert.deepEqual([fields.get("state"), fields.get("exit_status"), fields.get("unique")], ["failed", "7", "u-1"]);
        assert.deepEqual(failures, ["no such customer"]);
        assert.equal(await submitBg(c, "doomed", "u-1", "new") !== h, true, "a dead job does not hold its unique");
        clock.advance(1499);
        assert.equal((await show(c, h)).fields.get("state"), "failed", "kept for keep_failed_for");
        clock.advance(1);
        assert.equal(await c.adminLine(`job show ${h}`), "ERR UNKNOWN_JOB\r\n", "expired");
        c.close();
      });
    } finally {
      db.cleanup();
    }
  });
});

describe("reliable queue: the worker extension", () => {
  test("without OPTION_REQ reliable the extension packets do not exist (ERROR INVALID_COMMAND), as on any Gearman server", () =>
    withServer({}, async (_s, port) => {
      const c = await RawConn.connect(port);
      const h = await submitBg(c, "plain", "", "x");
      const w = await worker(port, "plain");
      assert.equal((await grab(w))!.handle, h);
      w.sendPacket(Cmd.WORK_DECLINE, h, "0");
      await expectError(w, "INVALID_COMMAND", "Command not expected");
      w.sendPacket(Cmd.GRAB_JOB_COALESCE, "x");
      await expectError(w, "INVALID_COMMAND", "Command not expected");
      w.close();
      c.close();
    }));

  test("permanent failure ends the job at once whatever max_retries, with the worker's exit status and message", () =>
    withServer({ maxRetries: 5 }, async (_s, port) => {
      const c = await RawConn.connect(port);
      const h = await submitBg(c, "pf", "", "x");
      const w = await worker(port, "pf", true);
      assert.equal((await grab(w))!.handle, h);
      w.sendPacket(Cmd.WORK_PERMANENT_FAIL, h, "0", "zero");
      await expectError(w, "INVALID_ARGUMENT", "exit_status must be an integer from 1");
      w.sendPacket(Cmd.WORK_PERMANENT_FAIL, h, "42", "bad input");
      await sync(w);
      assert.equal(await grab(w), undefined, "not retried");
      const { fields, failures } = await show(c, h);
      assert.deepEqual([fields.get("state"), fields.get("exit_status"), fields.get("retries")], ["failed", "42", "0"]);
      assert.deepEqual(failures, ["bad input"]);
      w.close();
      c.close();
    }));

  test("a foreground client of a permanently failed job gets WORK_EXCEPTION with the message", () =>
    withServer({}, async (_s, port) => {
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.OPTION_REQ, "exceptions");
      await c.expectPacket(Cmd.OPTION_RES);
      c.sendPacket(Cmd.SUBMIT_JOB, "pffg", "", "x");
      const h = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString();
      const w = await worker(port, "pffg", true);
      assert.equal((await grab(w))!.handle, h);
      w.sendPacket(Cmd.WORK_PERMANENT_FAIL, h, "3", "nope");
      const p = await c.expectPacket(Cmd.WORK_EXCEPTION);
      assert.deepEqual(p.args, [h, "nope"]);
      w.close();
      c.close();
    }));

  test("decline puts the job back at run_after without counting a failure", () => {
    const clock = new ManualClock();
    return withServer({ clock, maxRetries: 1 }, async (_s, port) => {
      const c = await RawConn.connect(port);
      const h = await submitBg(c, "later", "", "x");
      const w = await worker(port, "later", true);
      assert.equal((await grab(w))!.handle, h);
      const runAfter = Math.ceil(clock.now() / 1000) + 1;
      w.sendPacket(Cmd.WORK_DECLINE, h, String(runAfter));
      await sync(w);
      assert.equal(await grab(w), undefined, "not before run_after");
      const { fields, failures } = await show(c, h);
      assert.deepEqual([fields.get("state"), fields.get("retries"), fields.get("run_at")], ["scheduled", "0", String(runAfter * 1000)]);
      assert.deepEqual(failures, [], "a decline is no failure");
      clock.advance(runAfter * 1000 - clock.now() - 1);
      assert.equal(await grab(w), undefined, "not 1 ms before run_after");
      clock.advance(1);
      assert.equal((await grab(w))!.handle, h, "offered again once due");
      w.sendPacket(Cmd.WORK_DECLINE, h, "0");
      assert.equal((await grab(w))!.handle, h, "run_after 0: at once");
      w.close();
      c.close();
    });
  });

  test("replace_with: the job ends and its replacements exist after one commit; a restart finds exactly the replacements", async () => {
    const db = tempDb();
    let replacements: string[] = [];
    try {
      await withServer({ store: db.url }, async (_s, port) => {
        const c = await RawConn.connect(port);
        const h = await submitBg(c, "split", "", "big");
        const w = await worker(port, "split", true);
        assert.equal((await grab(w))!.handle, h);
        const jobs = Buffer.concat([
          packet(Cmd.SUBMIT_JOB_BG, "part", "p-1", "a"),
          packet(Cmd.SUBMIT_JOB_HIGH_BG, "part", "p-2", "b"),
          packet(Cmd.SUBMIT_JOB_EPOCH, "part", "p-3", String(Math.floor(Date.now() / 1000) + 3600), "c"),
        ]);
        w.sendPacket(Cmd.WORK_REPLACE, h, jobs);
        const done = await w.expectPacket(Cmd.WORK_REPLACED);
        assert.equal(done.args[0], h);
        replacements = done.args[1]!.split(" ");
        assert.equal(replacements.length, 3);
        assert.equal(await c.adminLine(`job show ${h}`), "ERR UNKNOWN_JOB\r\n", "the replaced job is gone");
        assert.equal(await c.adminList("prioritystatus"), "part\t1\t2\t0\t0\nsplit\t0\t0\t0\t1\n.\n");
        w.close();
        c.close();
      });
      await withServer({ store: db.url }, async (_s, port) => {
        const c = await RawConn.connect(port);
        const rows = (await c.adminList("job list")).split("\n").filter((r) => r && r !== ".").map((r) => r.split("\t")[0]);
        assert.deepEqual(rows.sort(), [...replacements].sort());
        c.close();
      });
    } finally {
      db.cleanup();
    }
  });

  test("replace_with is all or nothing: one bad submission, or a failed commit, changes nothing and the worker still holds its job", async () => {
    const store = new FailingStore();
    await withServer({ storeInstance: store }, async (_s, port) => {
      const c = await RawConn.connect(port);
      const h = await submitBg(c, "atomic", "", "x");
      const w = await worker(port, "atomic", true);
      assert.equal((await grab(w))!.handle, h);
      const good = packet(Cmd.SUBMIT_JOB_BG, "next", "", "ok");
      w.sendPacket(Cmd.WORK_REPLACE, h, Buffer.concat([good, packet(Cmd.SUBMIT_JOB_BG, "bad name", "", "x")]));
      await expectError(w, "INVALID_FUNCTION_NAME");
      w.sendPacket(Cmd.WORK_REPLACE, h, Buffer.concat([good, packet(Cmd.SUBMIT_JOB, "fg", "", "x")]));
      await expectError(w, "INVALID_ARGUMENT", "WORK_REPLACE carries background SUBMIT packets only");
      assert.doesNotMatch(await c.adminList("status"), /^next\t/m, "a refused replace makes no function record (reliability b45)");
      store.failNext = true;
      w.sendPacket(Cmd.WORK_REPLACE, h, Buffer.concat([good, good]));
      await expectError(w, "QUEUE_ERROR");
      assert.equal(store.size, 1, "the store still holds the old job alone");
      assert.doesNotMatch(await c.adminList("status"), /^next\t[1-9]/m, "no replacement is queued");
      w.sendPacket(Cmd.WORK_COMPLETE, h, "");
      await waitUntil("the worker still held the job and completed it", () => store.size === 0, 2000);
      w.close();
      c.close();
    });
  });

  test("GRAB_JOB_COALESCE hands out the queued jobs whose unique starts with the prefix, and NO_JOB after", () =>
    withServer({}, async (_s, port) => {
      const c = await RawConn.connect(port);
      await submitBg(c, "mail", "example.com/1", "a");
      await submitBg(c, "mail", "other.org/1", "b");
      await submitBg(c, "mail", "example.com/2", "c");
      const w = await worker(port, "mail", true);
      const got: string[] = [];
      for (;;) {
        w.sendPacket(Cmd.GRAB_JOB_COALESCE, "example.com/");
        const p = await w.expectPacket();
        if (p.code === Cmd.NO_JOB) break;
        assert.equal(p.code, Cmd.JOB_ASSIGN_UNIQ);
        got.push(p.args[2]!);
        w.sendPacket(Cmd.WORK_COMPLETE, p.args[0]!, "");
      }
      assert.deepEqual(got, ["example.com/1", "example.com/2"]);
      assert.equal((await grab(w))!.unique, "other.org/1");
      w.close();
      c.close();
    }));
});

describe("reliable queue: exit status", () => {
  test("with keep_exit_status_for a completed job keeps exit status 0 until it expires; without, it is forgotten at once", async () => {
    const clock = new ManualClock();
    await withServer({ clock, keepExitStatusFor: 1 }, async (_s, port) => {
      const c = await RawConn.connect(port);
      const h = await submitBg(c, "kept", "", "x");
      const w = await worker(port, "kept");
      assert.equal((await grab(w))!.handle, h);
      w.sendPacket(Cmd.WORK_COMPLETE, h, "done");
      await sync(w);
      clock.advance(999);
      const { fields } = await show(c, h);
      assert.deepEqual([fields.get("state"), fields.get("exit_status")], ["completed", "0"]);
      clock.advance(1);
      assert.equal(await c.adminLine(`job show ${h}`), "ERR UNKNOWN_JOB\r\n");
      w.close();
      c.close();
    });
    await withServer({}, async (_s, port) => {
      const c = await RawConn.connect(port);
      const h = await submitBg(c, "gone", "", "x");
      const w = await worker(port, "gone");
      assert.equal((await grab(w))!.handle, h);
      w.sendPacket(Cmd.WORK_COMPLETE, h, "done");
      await sync(w);
      assert.equal(await c.adminLine(`job show ${h}`), "ERR UNKNOWN_JOB\r\n");
      w.close();
      c.close();
    });
  });
});

/** A memory store whose next commit can be made to fail, to see what a failed transaction leaves behind. */
class FailingStore extends MemoryStore {
  failNext = false;
  override commit(batch: StoreBatch): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error("injected commit failure"));
    }
    return super.commit(batch);
  }
}
