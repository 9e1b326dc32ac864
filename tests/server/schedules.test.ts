/**
 * Durable schedules (src/server/schedule_runner.ts, docs/schedules.md) on the
 * server's ManualClock: one job per slot, its unique naming the slot; the
 * missed-run policies across a restart on a shared memory store; overlap
 * rules; pause and resume; a stored schedule gone from the config.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type GearboxServer, Logger, ManualClock, MemoryStore } from "../../mod.ts";
import type { ScheduleConfig } from "../../src/config/serve_schedules.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
type Def = Partial<ScheduleConfig> & { name: string };

function def(d: Def): Def {
  return { function: "tick", every: "10s", ...d };
}

interface Running {
  server: GearboxServer;
  clock: ManualClock;
  logs: Record<string, unknown>[];
}

async function run(store: MemoryStore, at: number, schedules: Def[]): Promise<Running> {
  const clock = new ManualClock(at);
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger({ level: "info", format: "json", write: (l) => logs.push(JSON.parse(l)) });
  const server = createServer({
    port: 0,
    listen: "127.0.0.1",
    storeInstance: store,
    clock,
    logger,
    schedules: schedules as ScheduleConfig[],
  });
  await server.start();
  await settled(server);
  return { server, clock, logs };
}

/** Waits (real time, a few loop turns) until no schedule's commit is in flight. */
async function settled(server: GearboxServer): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    await new Promise((r) => setTimeout(r, 1));
    if ([...server.schedules.entries.values()].every((e) => !e.busy)) return;
  }
  throw new Error("a schedule's commit never settled");
}

/** Moves the clock second by second, letting each slot's commit finish. */
async function advance(r: Running, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 1000) {
    r.clock.advance(Math.min(1000, left));
    await settled(r.server);
  }
}

/** The stored jobs' uniques, sorted. */
async function storedUniques(store: MemoryStore): Promise<string[]> {
  return [...await store.open()].map((j) => j.unique).sort();
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("schedules", () => {
  test("a schedule fires one background job per slot on the server's clock, its unique naming the schedule and slot", async () => {
    const store = new MemoryStore();
    const r = await run(store, T0, [def({ name: "nightly", workload: "run NAME at SLOT_MS" })]);
    try {
      await advance(r, 35_000);
      assert.deepEqual(await storedUniques(store), [1, 2, 3].map((k) => `nightly:${iso(T0 + k * 10_000)}`));
      const jobs = [...await store.open()];
      assert.equal(new TextDecoder().decode(jobs[0]!.data), `run nightly at ${T0 + 10_000}`);
      assert.equal(jobs[0]!.function, "tick");
      const e = r.server.schedules.entries.get("nightly")!;
      assert.equal(e.state.fired, 3);
      assert.equal(e.nextSlot, T0 + 40_000);
    } finally {
      await r.server.stop();
    }
  });

  for (
    const [missed, expected, missedCount] of [
      ["skip", [] as number[], 6],
      ["once", [60_000], 5],
      ["all", [10_000, 20_000, 30_000, 40_000], 2],
    ] as const
  ) {
    test(`after a restart, missed: ${missed} runs ${expected.length} of the 6 slots that passed, logs the counts, and the next slot on time`, async () => {
      const store = new MemoryStore();
      const schedules = [def({ name: "s", missed, max_catch_up: 4 })];
      const first = await run(store, T0, schedules);
      await first.server.stop();
      // Down for 65 s: slots at 10..60 s passed unfired.
      const second = await run(store, T0 + 65_000, schedules);
      try {
        assert.deepEqual(await storedUniques(store), expected.map((k) => `s:${iso(T0 + k)}`));
        const line = second.logs.find((l) => String(l.msg ?? l.message).startsWith("schedule caught up"));
        assert.ok(line, `a catch-up line is logged: ${JSON.stringify(second.logs)}`);
        assert.equal(line.due, 6);
        assert.equal(line.fired, expected.length);
        assert.equal(line.missed, missedCount);
        assert.equal(second.server.schedules.entries.get("s")!.state.missed, missedCount);
        await advance(second, 5_000);
        const after = await storedUniques(store);
        assert.equal(after.length, expected.length + 1);
        assert.ok(after.includes(`s:${iso(T0 + 70_000)}`), "the first slot after the restart fires on time");
      } finally {
        await second.server.stop();
      }
    });
  }

  test("the progress is in the store: a restart before the next slot neither repeats nor drops a slot", async () => {
    const store = new MemoryStore();
    const schedules = [def({ name: "s", missed: "all" })];
    const first = await run(store, T0, schedules);
    await advance(first, 25_000);
    await first.server.stop();
    const second = await run(store, T0 + 25_000, schedules);
    try {
      await advance(second, 10_000);
      assert.deepEqual(await storedUniques(store), [1, 2, 3].map((k) => `s:${iso(T0 + k * 10_000)}`));
    } finally {
      await second.server.stop();
    }
  });

  test("overlap: skip drops and counts a slot while the previous run is still queued", async () => {
    const store = new MemoryStore();
    const r = await run(store, T0, [def({ name: "s", overlap: "skip" })]);
    try {
      await advance(r, 30_000); // nobody works: the first job stays queued
      assert.deepEqual(await storedUniques(store), [`s:${iso(T0 + 10_000)}`]);
      assert.equal(r.server.schedules.entries.get("s")!.state.skipped, 2);
      assert.ok(r.logs.some((l) => String(l.msg ?? l.message).startsWith("schedule slots dropped (overlap: skip)")));
    } finally {
      await r.server.stop();
    }
  });

  test("overlap: allow fires every slot even while earlier runs are queued", async () => {
    const store = new MemoryStore();
    const r = await run(store, T0, [def({ name: "s", overlap: "allow" })]);
    try {
      await advance(r, 30_000);
      assert.equal((await storedUniques(store)).length, 3);
    } finally {
      await r.server.stop();
    }
  });

  test("overlap: queue holds one slot until the previous run ends, then fires it; a second waiting slot is skipped", async () => {
    const store = new MemoryStore();
    const r = await run(store, T0, [def({ name: "s", overlap: "queue" })]);
    try {
      await advance(r, 30_000);
      const e = r.server.schedules.entries.get("s")!;
      assert.deepEqual(await storedUniques(store), [`s:${iso(T0 + 10_000)}`]);
      assert.equal(e.state.queued, T0 + 20_000, "the first slot that found the run busy waits; the next one is skipped");
      assert.equal(e.state.skipped, 1);
      const w = await RawConn.connect(r.server.port);
      w.sendPacket(Cmd.CAN_DO, "tick");
      w.sendPacket(Cmd.GRAB_JOB_UNIQ);
      const job = await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
      assert.equal(job.args[2], `s:${iso(T0 + 10_000)}`);
      w.sendPacket(Cmd.WORK_COMPLETE, job.args[0]!, "done");
      const started = Date.now();
      for (; Date.now() - started < 5000;) {
        await settled(r.server);
        if ((await storedUniques(store)).includes(`s:${iso(T0 + 20_000)}`)) break;
        await new Promise((res) => setTimeout(res, 5));
      }
      assert.deepEqual(await storedUniques(store), [`s:${iso(T0 + 20_000)}`], "the queued slot fired once the first run ended");
      assert.equal(e.state.queued, undefined);
      w.close();
    } finally {
      await r.server.stop();
    }
  });

  test("a paused schedule fires nothing, stays paused across a restart, and on resume applies its missed policy", async () => {
    const store = new MemoryStore();
    const schedules = [def({ name: "s", missed: "once" })];
    const first = await run(store, T0, schedules);
    assert.equal(first.server.schedules.pause("s"), true);
    assert.equal(first.server.schedules.pause("nope"), false);
    await advance(first, 30_000);
    assert.deepEqual(await storedUniques(store), []);
    await first.server.stop();
    const second = await run(store, T0 + 45_000, schedules);
    try {
      assert.equal(second.server.schedules.entries.get("s")!.state.paused, true);
      assert.deepEqual(await storedUniques(store), []);
      second.server.schedules.resume("s");
      await settled(second.server);
      assert.deepEqual(await storedUniques(store), [`s:${iso(T0 + 40_000)}`], "one catch-up run for the 4 slots missed");
      await advance(second, 10_000);
      assert.equal((await storedUniques(store)).length, 2);
    } finally {
      await second.server.stop();
    }
  });

  test("a pause asked while a slot's commit is in flight waits for it: the row is never rolled back to fire that slot again", async () => {
    const store = new MemoryStore();
    const schedules = [def({ name: "s", missed: "all" })];
    const first = await run(store, T0, schedules);
    first.clock.advance(10_000); // the slot's job and the advanced row are being committed
    assert.equal(first.server.schedules.entries.get("s")!.busy, true);
    assert.equal(first.server.schedules.pause("s"), true);
    await settled(first.server);
    const [row] = await store.schedules();
    assert.equal(row!.nextSlot, T0 + 20_000, "the advance is kept");
    assert.equal(JSON.parse(row!.state).paused, true, "and the pause written after it");
    await first.server.stop();
    const second = await run(store, T0 + 15_000, schedules);
    try {
      second.server.schedules.resume("s");
      await settled(second.server);
      await advance(second, 10_000);
      assert.deepEqual(await storedUniques(store), [1, 2].map((k) => `s:${iso(T0 + k * 10_000)}`), "slot 10 s once, then 20 s");
    } finally {
      await second.server.stop();
    }
  });

  test("a stored schedule no longer in the config is kept, paused and reported", async () => {
    const store = new MemoryStore();
    const first = await run(store, T0, [def({ name: "gone" })]);
    await first.server.stop();
    const second = await run(store, T0 + 30_000, []);
    try {
      assert.deepEqual([...second.server.schedules.orphans.keys()], ["gone"]);
      assert.ok(second.logs.some((l) => l.schedule === "gone" && l.level === "warn"));
      assert.deepEqual(await storedUniques(store), []);
      assert.equal((await store.schedules()).length, 1, "its row is kept");
    } finally {
      await second.server.stop();
    }
  });

  test("a draining server fires no more slots (a schedule would keep it from ever draining)", async () => {
    const store = new MemoryStore();
    const r = await run(store, T0, [def({ name: "s" })]);
    await advance(r, 10_000);
    assert.equal((await storedUniques(store)).length, 1);
    const drained = r.server.drain();
    await advance(r, 30_000);
    assert.equal((await storedUniques(store)).length, 1, "no slot fired after the drain began");
    await r.server.stop();
    await drained;
  });

  test("an SQLite store keeps the schedules' rows, and a backup copies them as they were when it began", async () => {
    const dir = tempDir("gearbox-schedule-sqlite-");
    const store = new SqliteStore(join(dir, "jobs.db"));
    await store.open();
    const row = { name: "s", nextSlot: T0 + 10_000, state: JSON.stringify({ anchor: T0, fired: 3 }) };
    await store.commit({ add: [], remove: [], schedules: [row, { ...row, name: "t" }] });
    await store.commit({ add: [], remove: [], dropSchedules: ["t"] });
    assert.deepEqual(await store.schedules(), [row]);
    await store.backup(join(dir, "copy.db"));
    await store.close();
    const copy = new SqliteStore(join(dir, "copy.db"));
    await copy.open();
    try {
      assert.deepEqual(await copy.schedules(), [row]);
    } finally {
      await copy.close();
    }
  });

  test("a schedule whose unique names no slot, or with both cron and every, is refused naming the key", () => {
    assert.throws(
      () => createServer({ port: 0, schedules: [def({ name: "a", unique: "fixed" })] as ScheduleConfig[] }),
      /schedules\[0\]\.unique/,
    );
    assert.throws(
      () => createServer({ port: 0, schedules: [def({ name: "a", cron: "* * * * *" })] as ScheduleConfig[] }),
      /exactly one of cron and every/,
    );
    assert.throws(
      () => createServer({ port: 0, schedules: [def({ name: "a", every: "soon" })] as ScheduleConfig[] }),
      /schedules\[0\] \(a\)/,
    );
    assert.throws(
      () => createServer({ port: 0, schedules: [def({ name: "a", missed: "never" as "skip" })] as ScheduleConfig[] }),
      /schedules\[0\]\.missed/,
    );
  });
});
