/**
 * The `schedule` admin command (src/server/schedule_admin.ts): list and show
 * for admin-read, pause, resume, trigger and delete for admin, over a real
 * socket on a server with a ManualClock.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, Logger, ManualClock, MemoryStore } from "../../mod.ts";
import type { ScheduleConfig } from "../../src/config/serve_schedules.ts";
import { adminLineRole, ROLE_BITS } from "../../src/core/roles.ts";
import { RawConn } from "../helpers/raw_conn.ts";

const T0 = Date.UTC(2026, 0, 1);
const quiet = () => new Logger({ level: "error", format: "json", write: () => {} });
const sched = (name: string) => ({ name, function: "tick", every: "10s" }) as unknown as ScheduleConfig;

async function settle(ms = 30): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe("the schedule admin command", () => {
  test("list and show need admin-read; pause, resume, trigger, delete and add need admin", () => {
    for (const verb of ["list", "show"]) assert.equal(adminLineRole("schedule", [verb, "x"]), ROLE_BITS["admin-read"], verb);
    for (const verb of ["pause", "resume", "trigger", "delete", "add"]) {
      assert.equal(adminLineRole("SCHEDULE", [verb, "x"]), ROLE_BITS.admin, verb);
    }
  });

  test("list shows each schedule's next and last run, handle and counts; pause, resume and trigger change them", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const server = createServer({
      port: 0,
      listen: "127.0.0.1",
      storeInstance: store,
      clock,
      logger: quiet(),
      schedules: [sched("b"), sched("a")],
    });
    await server.start();
    const c = await RawConn.connect(server.port);
    try {
      await settle();
      clock.advance(10_000);
      await settle();
      const list = await c.adminList("schedule list");
      const rows = list.trimEnd().split("\n").slice(0, -1).map((l) => l.split("\t"));
      assert.deepEqual(rows.map((r) => r[0]), ["a", "b"], "sorted by name");
      const [name, fn, timing, status, next, last, handle, outcome, fired] = rows[0]!;
      assert.deepEqual([name, fn, timing, status], ["a", "tick", "every 10000ms UTC", "active"]);
      assert.equal(next, new Date(T0 + 20_000).toISOString());
      assert.equal(last, new Date(T0 + 10_000).toISOString());
      assert.match(handle!, /^H:/);
      assert.equal(outcome, "queued");
      assert.equal(fired, "1");

      assert.equal(await c.adminLine("schedule pause a"), "OK\r\n");
      assert.match(await c.adminList("schedule show a"), /^status\tpaused$/m);
      clock.advance(1000); // a trigger at a slot's own instant would coalesce with that slot's job (same unique)
      const triggered = await c.adminLine("schedule trigger b");
      assert.match(triggered, /^OK H:/);
      assert.equal(server.schedules.entries.get("b")!.state.fired, 2);
      assert.equal([...await store.open()].length, 3, "a's and b's slot jobs and b's triggered one");
      assert.equal(await c.adminLine("schedule resume a"), "OK\r\n");
      assert.match(await c.adminList("schedule show a"), /^status\tactive$/m);
      assert.match(await c.adminLine("schedule pause nope"), /^ERR UNKNOWN_SCHEDULE/);
      assert.match(await c.adminLine("schedule delete a"), /^ERR SCHEDULE_ERROR .*in\+the\+config/);
      assert.match(await c.adminLine("schedule frobnicate"), /^ERR INVALID_ARGUMENTS usage:/);
    } finally {
      c.close();
      await server.stop();
    }
  });

  test("a stored schedule gone from the config is listed as orphan and can be deleted", async () => {
    const store = new MemoryStore();
    const first = createServer({
      port: 0,
      listen: "127.0.0.1",
      storeInstance: store,
      clock: new ManualClock(T0),
      logger: quiet(),
      schedules: [sched("old")],
    });
    await first.start();
    await settle();
    await first.stop();
    const server = createServer({ port: 0, listen: "127.0.0.1", storeInstance: store, clock: new ManualClock(T0), logger: quiet() });
    await server.start();
    const c = await RawConn.connect(server.port);
    try {
      assert.match(await c.adminList("schedule list"), /^old\t-\t-\torphan\t/m);
      assert.equal(await c.adminLine("schedule delete old"), "OK\r\n");
      assert.equal(await c.adminList("schedule list"), ".\n");
      assert.deepEqual(await store.schedules(), []);
    } finally {
      c.close();
      await server.stop();
    }
  });

  test("schedule add defines a schedule at run time that fires, outlives a restart from the store, and can be deleted", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const first = createServer({ port: 0, listen: "127.0.0.1", storeInstance: store, clock, logger: quiet() });
    await first.start();
    const c = await RawConn.connect(first.port);
    try {
      const def = JSON.stringify({ name: "late", function: "tick", every: "10s", missed: "all", workload: "at SLOT_MS" });
      assert.equal(await c.adminLine(`schedule add ${def}`), "OK\r\n");
      assert.match(await c.adminLine(`schedule add ${def}`), /^ERR SCHEDULE_ERROR schedule\+late\+exists/);
      assert.match(
        await c.adminLine(`schedule add {"name":"x","function":"f"}`),
        /^ERR SCHEDULE_ERROR .*exactly\+one\+of\+cron\+and\+every/,
      );
      assert.match(await c.adminLine("schedule add {nope"), /^ERR INVALID_ARGUMENTS/);
      clock.advance(10_000);
      await settle();
      assert.equal([...await store.open()].length, 1, "the added schedule fired its first slot");
    } finally {
      c.close();
      await first.stop();
    }
    const second = createServer({
      port: 0,
      listen: "127.0.0.1",
      storeInstance: store,
      clock: new ManualClock(T0 + 35_000),
      logger: quiet(),
    });
    await second.start();
    const d = await RawConn.connect(second.port);
    try {
      await settle();
      assert.match(
        await d.adminList("schedule list"),
        /^late\ttick\tevery 10000ms UTC\tactive\t/m,
        "restored from the store, not an orphan",
      );
      assert.equal([...await store.open()].length, 3, "missed: all caught up the slots at 20 s and 30 s");
      assert.equal(await d.adminLine("schedule delete late"), "OK\r\n");
      assert.equal(await d.adminList("schedule list"), ".\n");
      assert.deepEqual(await store.schedules(), []);
    } finally {
      d.close();
      await second.stop();
    }
  });
});
