/**
 * Two nodes on one PostgreSQL store with the same schedule, their
 * ManualClocks advanced together so both fire every slot in the same turn:
 * the schedule's row is locked in the commit that adds a slot's job, and the
 * node that finds it moved writes nothing of that slot, so each slot has
 * exactly one job in the cluster.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type GearboxServer, Logger, ManualClock } from "../../mod.ts";
import type { ScheduleConfig } from "../../src/config/serve_schedules.ts";
import { sqlOn, testPostgres } from "../helpers/postgres.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const T0 = Date.UTC(2026, 0, 1);
const SCHEDULE = { name: "race", function: "race_fn", every: "2s", missed: "all" } as unknown as ScheduleConfig;

function node(url: string, id: string, lost: string[]): { server: GearboxServer; clock: ManualClock } {
  const clock = new ManualClock(T0);
  const logger = new Logger({
    level: "debug",
    format: "json",
    write: (l) => {
      if (l.includes("another node fired")) lost.push(id);
    },
  });
  const server = createServer({
    port: 0,
    listen: "127.0.0.1",
    store: url,
    nodeId: id,
    nodeLease: 3600,
    clock,
    logger,
    schedules: [SCHEDULE],
  });
  return { server, clock };
}

async function settled(servers: GearboxServer[]): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    await new Promise((r) => setTimeout(r, 2));
    if (servers.every((s) => [...s.schedules.entries.values()].every((e) => !e.busy))) return;
  }
  throw new Error("a schedule's commit never settled");
}

describe("schedules on a PostgreSQL cluster", { skip }, () => {
  test("two nodes racing for every slot of one schedule: each slot gets exactly one job in the cluster", async () => {
    const url = await (postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip)));
    const lost: string[] = [];
    const a = node(url, "node-a", lost);
    const b = node(url, "node-b", lost);
    await a.server.start();
    await b.server.start();
    try {
      await settled([a.server, b.server]);
      for (let t = 0; t < 20; t++) {
        a.clock.advance(1000);
        b.clock.advance(1000);
        await settled([a.server, b.server]);
      }
      const rows = await sqlOn(url, "SELECT node, uniq FROM gearbox_jobs WHERE function = 'race_fn' ORDER BY uniq");
      const uniques = rows.map((r) => String(r.uniq));
      const expected = Array.from({ length: 10 }, (_, k) => `race:${new Date(T0 + (k + 1) * 2000).toISOString()}`);
      const byNode = { a: rows.filter((r) => r.node === "node-a").length, b: rows.filter((r) => r.node === "node-b").length };
      process.stderr.write(
        `two-node race: ${rows.length} jobs for ${expected.length} slots (node-a ${byNode.a}, node-b ${byNode.b}), ${lost.length} slots lost to the other node\n`,
      );
      assert.deepEqual(uniques, expected, "one job per slot, none missing");
      assert.ok(lost.length >= 1, "the race was run: a node found the row moved by the other");
      const [row] = await sqlOn(url, "SELECT next_slot FROM gearbox_schedule WHERE name = 'race'");
      assert.equal(Number(row!.next_slot), T0 + 22_000);
    } finally {
      await Promise.all([a.server.stop(), b.server.stop()]);
    }
  });
});
