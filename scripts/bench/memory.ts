/**
 * Memory with a million queued jobs, and how fast a restart replays them:
 * 1M background jobs of 100 bytes (unique ids, no workers) are submitted by
 * the libgearman load generator to gearmand (in memory) and to gearbox
 * (the durable SQLite store); RSS is read from /proc once the queue is
 * full. gearbox is then stopped and started on the same store, and the time
 * until it listens again is the replay.
 *
 *   bun scripts/bench/memory.ts [--jobs 1000000] [--skip-gearmand]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { HAVE_GEARMAND, type RunningServer, startGearbox, startGearmand } from "../../tests/helpers/servers.ts";

const { values } = parseArgs({
  options: { jobs: { type: "string", default: "1000000" }, "skip-gearmand": { type: "boolean", default: false } },
});
const jobs = Number(values.jobs);
const LOADGEN = new URL("./build/loadgen", import.meta.url).pathname;
if (!existsSync(LOADGEN)) {
  console.error("scripts/bench/build/loadgen is missing: run `npm run bench -- --quick` once to build it");
  process.exit(1);
}

function rssMiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

/**
 * RSS once it stops changing: the runtime collects the garbage of a burst
 * only when it goes idle (Bun's collector, about 10 s later), so the first
 * reading after the fill includes garbage. Samples each second until five
 * in a row agree within 1 MiB, or 40 s.
 */
async function settledRssMiB(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let t = 0; t < 40; t++) {
    await new Promise((r) => setTimeout(r, 1000));
    samples.push(rssMiB(pid));
    const last = samples.slice(-5);
    if (last.length === 5 && Math.max(...last) - Math.min(...last) < 1) break;
  }
  return samples.at(-1)!;
}

function fill(server: RunningServer): number {
  const t0 = Date.now();
  const r = spawnSync(LOADGEN, ["bgsubmit", "--port", String(server.port), "--workers", "0", "--jobs", String(jobs), "--seconds", "600"], {
    encoding: "utf8",
  });
  const got = Number(/jobs=(\d+)/.exec(r.stdout)?.[1] ?? 0);
  if (got < jobs) throw new Error(`${server.name}: only ${got} of ${jobs} jobs acknowledged: ${r.stderr}`);
  return (Date.now() - t0) / 1000;
}

const rows: string[] = [];
let gearmandRss: number | undefined;
if (HAVE_GEARMAND && !values["skip-gearmand"]) {
  const g = await startGearmand();
  const s = fill(g);
  gearmandRss = await settledRssMiB(g.pid);
  rows.push(`| gearmand 1.1.20, in memory | ${gearmandRss.toFixed(0)} | ${s.toFixed(1)} s | - |`);
  await g.stop();
}
const dir = mkdtempSync(join(tmpdir(), "gearbox-memory-"));
const store = ["--store", `sqlite:${join(dir, "jobs.db")}`];
try {
  const b = await startGearbox({ extra: store });
  const s = fill(b);
  await new Promise((r) => setTimeout(r, 2000)); // let the last commits finish
  const early = rssMiB(b.pid);
  const rss = await settledRssMiB(b.pid);
  await b.stop();
  const t0 = Date.now();
  const again = await startGearbox({ extra: store }); // resolves once it listens: the store is replayed by then
  const replay = (Date.now() - t0) / 1000;
  const rssAfter = await settledRssMiB(again.pid);
  await again.stop();
  rows.push(
    `| gearbox, sqlite store | ${rss.toFixed(0)} (2 s after the fill: ${early.toFixed(0)}; after a restart: ${rssAfter.toFixed(0)}) | ${
      s.toFixed(1)
    } s | ${replay.toFixed(2)} s |`,
  );
  console.log(`${jobs.toLocaleString("en")} queued background jobs of 100 bytes:`);
  console.log("| server | RSS MiB, settled | fill | restart until listening |\n|---|---:|---:|---:|");
  for (const r of rows) console.log(r);
  if (gearmandRss) console.log(`gearbox/gearmand RSS: ${(rss / gearmandRss).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
