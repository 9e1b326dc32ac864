/**
 * Durable background submits on the PostgreSQL store, on a throwaway cluster
 * of its own (fsync on, PostgreSQL's defaults otherwise):
 *
 * 1. the store alone: jobs committed per second in batches of --batch, without a
 *    unique (the binary COPY) and with distinct uniques (the INSERT that meets the
 *    cluster-wide unique index, docs/cluster.md §7);
 * 2. through `dist/gearbox serve --store postgres://...`: libgearman's
 *    loadgen (`bgsubmit`, batches of 1000, 100 B, no workers) from 1 and from
 *    --clients connections at once, jobs acknowledged per second, and the CPU
 *    seconds per 1000 jobs that gearbox and PostgreSQL spent;
 * 3. the same through gearbox on its SQLite store, for reference.
 *
 *   npm run build && bun scripts/bench/postgres_submit.ts [--jobs 100000] [--clients 4] [--batch 1000]
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../../src/store/open_store.ts";
import type { StoredJob } from "../../src/store/job_store.ts";
import { storedJob } from "../../tests/helpers/stored_job.ts";
import { freePort, waitForPort } from "../../tests/helpers/free_port.ts";
import { startCluster, type TestPostgres } from "../../tests/helpers/postgres.ts";
import { cpuSeconds, postgresCpuSeconds } from "./proc_cpu.ts";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "100000" },
    clients: { type: "string", default: "4" },
    batch: { type: "string", default: "1000" },
  },
});
const JOBS = Number(values.jobs);
const CLIENTS = Number(values.clients);
const BATCH = Number(values.batch);
const ROOT = new URL("../../", import.meta.url).pathname;
const LOADGEN = join(ROOT, "scripts/bench/build/loadgen");

/** The store alone: `JOBS` new jobs in commits of `BATCH`, each with a distinct unique when `unique`. */
async function storeAlone(url: string, unique: boolean): Promise<number> {
  const store = openStore(url);
  await store.open();
  const data = new Uint8Array(100).fill(120);
  const t0 = performance.now();
  for (let id = 1; id <= JOBS;) {
    const add: StoredJob[] = [];
    for (let i = 0; i < BATCH && id <= JOBS; i++, id++) {
      const u = unique ? `bench-${id}` : "";
      add.push(storedJob(id, { handle: `H:bench:${id}`, function: "bench", unique: u, data: data, createdAt: Date.now() }));
    }
    await store.commit({ add, remove: [] });
  }
  const rate = JOBS / ((performance.now() - t0) / 1000);
  await store.close();
  return rate;
}

/** `clients` loadgen processes submit JOBS in all through a gearbox on `store`. */
async function throughGearbox(store: string, clients: number, pgPort: number): Promise<string> {
  const port = await freePort();
  const server: ChildProcess = spawn(
    join(ROOT, "dist/gearbox"),
    ["serve", "--port", String(port), "--store", store, "--log-level", "warn"],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  await waitForPort(port);
  const pgBefore = postgresCpuSeconds(pgPort);
  const gbBefore = cpuSeconds([server.pid!]);
  const t0 = performance.now();
  const each = Math.ceil(JOBS / clients);
  const runs = Array.from({ length: clients }, () =>
    new Promise<number>((resolve) => {
      const args = ["bgsubmit", "--port", String(port), "--workers", "0", "--jobs", String(each), "--seconds", "120", "--batch", "1000"];
      const child = spawn(LOADGEN, args, { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.on("exit", () => resolve(Number(/ jobs=(\d+)/.exec(out)?.[1] ?? 0)));
    }));
  const done = (await Promise.all(runs)).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - t0) / 1000;
  const gb = cpuSeconds([server.pid!]) - gbBefore;
  const pg = postgresCpuSeconds(pgPort) - pgBefore;
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  const perK = (s: number) => ((s / done) * 1000 * 1000).toFixed(0);
  return `${Math.round(done / seconds)} jobs/s (${done} jobs, ${seconds.toFixed(2)} s; CPU per 1000 jobs: gearbox ${
    perK(gb)
  } ms, PostgreSQL ${perK(pg)} ms)`;
}

if (!existsSync(join(ROOT, "dist/gearbox"))) throw new Error("run npm run build first");
if (!existsSync(LOADGEN)) {
  mkdirSync(join(ROOT, "scripts/bench/build"), { recursive: true });
  const cc = spawnSync("cc", ["-O2", "-std=gnu11", "-pthread", "-o", LOADGEN, join(ROOT, "scripts/bench/loadgen.c"), "-lgearman", "-lm"], {
    stdio: "inherit",
  });
  if (cc.status !== 0) throw new Error("compiling loadgen.c failed (needs libgearman-dev)");
}
const cluster = await startCluster({ fsync: true });
if (!cluster.ok) throw new Error(cluster.skip);
const pg: TestPostgres = cluster.pg;
const pgPort = Number(new URL(await pg.createDatabase()).port);
console.log(`PostgreSQL: ${pg.origin}, started in ${pg.startMs} ms (fsync on)`);
for (const unique of [false, true]) {
  const rate = Math.round(await storeAlone(await pg.createDatabase(), unique));
  console.log(`store alone, commits of ${BATCH}, ${unique ? "distinct uniques" : "no unique"}: ${rate} jobs/s`);
}
for (const clients of [1, CLIENTS]) {
  console.log(`gearbox on PostgreSQL, ${clients} loadgen client(s): ${await throughGearbox(await pg.createDatabase(), clients, pgPort)}`);
}
const dir = mkdtempSync(join(tmpdir(), "gearbox-bench-sqlite-"));
for (const clients of [1, CLIENTS]) {
  const store = `sqlite:${join(dir, `jobs-${clients}.db`)}`;
  console.log(`gearbox on SQLite (reference), ${clients} loadgen client(s): ${await throughGearbox(store, clients, pgPort)}`);
}
rmSync(dir, { recursive: true, force: true });
await pg.dropDatabases();
process.exit(0);
