/** `gearbox_schedule_*` on `/metrics` (server_metrics.ts), read from the schedule runner at scrape time. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, Logger, ManualClock, MemoryStore } from "../../mod.ts";
import type { ScheduleConfig } from "../../src/config/serve_schedules.ts";

const T0 = Date.UTC(2026, 0, 1);

test("/metrics counts each schedule's runs, missed and skipped slots and gives its next and last run", async () => {
  const clock = new ManualClock(T0);
  const server = createServer({
    port: 0,
    listen: "127.0.0.1",
    storeInstance: new MemoryStore(),
    clock,
    logger: new Logger({ level: "error", format: "json", write: () => {} }),
    metricsListen: "127.0.0.1:0",
    schedules: [{ name: "s", function: "tick", every: "10s", overlap: "skip" } as unknown as ScheduleConfig],
  });
  await server.start();
  await new Promise((r) => setTimeout(r, 20)); // the new schedule's row is committed, its timer armed
  try {
    for (let t = 0; t < 3; t++) {
      clock.advance(10_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    const text = await (await fetch(`http://127.0.0.1:${server.metrics!.port}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name}\\{schedule="s"\\} (\\S+)$`, "m").exec(text)?.[1]);
    assert.equal(value("gearbox_schedule_runs_total"), 1, text);
    assert.equal(value("gearbox_schedule_skipped_total"), 2, "the queued first run made the next two slots skip");
    assert.equal(value("gearbox_schedule_missed_total"), 0);
    assert.equal(value("gearbox_schedule_next_run_timestamp_seconds"), (T0 + 40_000) / 1000);
    assert.equal(value("gearbox_schedule_last_run_timestamp_seconds"), (T0 + 10_000) / 1000);
  } finally {
    await server.stop();
  }
});
