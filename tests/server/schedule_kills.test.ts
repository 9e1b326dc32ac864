/**
 * A schedule `every: 1s` with `missed: all` on an SQLite store survives 20
 * SIGKILLs of `gearbox serve` at random points: no slot gets two jobs (two
 * handles for one slot's unique) and none is lost (the slots seen are every
 * second from the first to the last). A job delivered again after a kill
 * (a completion the dead server had not committed: at-least-once delivery of
 * one job, not a second job for its slot) is counted and printed apart.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { reconnectingWorker } from "../helpers/packet_socket.ts";
import { freePort } from "../helpers/free_port.ts";
import { killableServe } from "../helpers/servers.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();
const KILLS = Number(process.env.KILLS ?? 20);

test(`a schedule every 1s with missed: all survives ${KILLS} SIGKILLs: no slot run twice, none lost`, { timeout: 120_000 }, async () => {
  const dir = tempDir("gearbox-schedule-kill-");
  const config = join(dir, "serve.yaml");
  writeFileSync(
    config,
    [
      "schedules:",
      "  - name: beat",
      "    function: beat_fn",
      "    every: 1s",
      "    missed: all",
      "    max_catch_up: 1000",
      "    workload: SLOT_MS",
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const { start, kill } = killableServe(port, ["--store", `sqlite:${join(dir, "jobs.db")}`, "--config", config]);

  /** Handles seen per slot (the unique), and deliveries per handle. */
  const handlesBySlot = new Map<string, Set<string>>();
  const deliveries = new Map<string, number>();
  let running = true;
  const worker = reconnectingWorker(port, "beat_fn", () => running, (args) => {
    const [handle, , unique] = args as [string, string, string];
    const seen = handlesBySlot.get(unique) ?? new Set();
    handlesBySlot.set(unique, seen.add(handle));
    deliveries.set(handle, (deliveries.get(handle) ?? 0) + 1);
  });

  await start();
  let seed = 11;
  for (let i = 0; i < KILLS; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    await new Promise((r) => setTimeout(r, 300 + (seed % 900)));
    await kill();
    await start();
  }
  // Let the last start catch up and a few more slots run on time.
  await new Promise((r) => setTimeout(r, 3000));
  running = false;
  await kill();
  await Promise.race([worker, new Promise((r) => setTimeout(r, 2000))]);

  const slots = [...handlesBySlot.keys()].map((u) => Date.parse(u.slice("beat:".length))).sort((a, b) => a - b);
  const doubled = [...handlesBySlot.entries()].filter(([, h]) => h.size > 1).map(([u]) => u);
  const gaps: string[] = [];
  for (let k = 1; k < slots.length; k++) {
    if (slots[k]! - slots[k - 1]! !== 1000) gaps.push(`${new Date(slots[k - 1]!).toISOString()} -> ${new Date(slots[k]!).toISOString()}`);
  }
  const redelivered = [...deliveries.values()].filter((n) => n > 1).length;
  const span = slots.length > 0 ? (slots[slots.length - 1]! - slots[0]!) / 1000 + 1 : 0;
  process.stderr.write(
    `schedule kill test: ${KILLS} SIGKILLs, ${slots.length} slots run over ${span} s, ${doubled.length} slots with two jobs, ${gaps.length} gaps, ${redelivered} jobs delivered again after a kill\n`,
  );
  assert.ok(slots.length >= 10, `only ${slots.length} slots ran`);
  assert.deepEqual(doubled, [], "no slot got a second job");
  assert.deepEqual(gaps, [], "no slot was lost between the first and the last");
});
