/**
 * The SQLite store alone: background jobs committed per second, in batches
 * the size group commit makes under load, with synchronous=FULL (the
 * default) and NORMAL. No sockets: this is the ceiling the store puts on
 * durable submits.
 *
 *   bun scripts/bench/store.ts [--jobs 200000] [--batch 1000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import type { StoredJob } from "../../src/store/job_store.ts";
import { storedJob } from "../../tests/helpers/stored_job.ts";

const { values } = parseArgs({ options: { jobs: { type: "string", default: "200000" }, batch: { type: "string", default: "1000" } } });
const total = Number(values.jobs);
const batchSize = Number(values.batch);
const payload = new Uint8Array(100).fill(120);

for (const synchronous of ["FULL", "NORMAL"] as const) {
  const dir = mkdtempSync(join(tmpdir(), "gearbox-store-bench-"));
  const store = new SqliteStore(join(dir, "bench.db"), { synchronous });
  await store.open();
  let id = 0;
  const t0 = performance.now();
  while (id < total) {
    const add: StoredJob[] = [];
    for (let i = 0; i < batchSize; i++) {
      id++;
      add.push(storedJob(id, { handle: `H:bench.host:${id}`, function: "bench", data: payload, createdAt: Date.now() }));
    }
    await store.commit({ add, remove: [] });
  }
  const s = (performance.now() - t0) / 1000;
  console.log(
    `synchronous=${synchronous}: ${Math.round(total / s).toLocaleString("en")} jobs/s (${total} jobs, batches of ${batchSize}, ${
      (s * 1e6 / total).toFixed(2)
    } µs/job)`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
