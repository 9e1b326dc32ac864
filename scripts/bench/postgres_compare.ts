/**
 * Durable background submit on PostgreSQL, in one run on one throwaway
 * cluster (fsync on): gearbox against pg-boss and graphile-worker, and the
 * database's own floor measured by pgbench (pg_floor.ts). Each contender
 * enqueues --jobs jobs of --size bytes in batches of --batch from one
 * producer into a fresh database of that server; the contenders take turns
 * (the order rotates every repeat) and the table gives each one's best and
 * median rate, its ratio to the faster competitor, its share of the floor,
 * and the CPU per job that PostgreSQL and the producer side spent. In the
 * same rotation, one gearbox node against three on the same database
 * (pg_nodes.ts), in a table of its own.
 *
 *   npm run build && npm run bench -- --store postgres [--quick] [--repeat 3] [--jobs 100000]
 *   bun scripts/bench/postgres_compare.ts [--jobs N] [--repeat N] [--batch 1000] [--size 100] [--floor-clients 4] [--warm 20000]
 *     [--only gearbox,gearbox-library,runtime-floor,pg-boss,graphile-worker,floor-1,floor-4,server-1,nodes-1,nodes-3]
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startCluster } from "../../tests/helpers/postgres.ts";
import {
  type Contender,
  gearbox,
  gearboxLibrary,
  graphileWorker,
  graphileWorkerKeyed,
  type Load,
  LOADGEN,
  pgBoss,
  type RunResult,
  runtimeFloor,
} from "./pg_contenders.ts";
import { createGearboxTables, type FloorKind, runFloor } from "./pg_floor.ts";
import { nodesRow, nodesTable } from "./pg_nodes.ts";
import { postgresCpuSeconds } from "./proc_cpu.ts";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "100000" },
    repeat: { type: "string", default: "3" },
    batch: { type: "string", default: "1000" },
    size: { type: "string", default: "100" },
    "floor-clients": { type: "string", default: "4" },
    warm: { type: "string", default: "20000" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const LOAD: Load = {
  jobs: Number(values.quick ? 30000 : values.jobs),
  batch: Number(values.batch),
  size: Number(values.size),
  warm: Number(values.quick ? 5000 : values.warm),
};
const REPEAT = Number(values.quick ? 2 : values.repeat);
const FLOOR_CLIENTS = Number(values["floor-clients"]);
const ROOT = new URL("../../", import.meta.url).pathname;

interface Row {
  id: string;
  label: string;
  kind: "gearbox" | "runtime" | "competitor" | "keyed" | "floor" | "ceiling" | "nodes";
  prepare(url: string): Promise<{ run(): Promise<RunResult>; close(): Promise<void> }>;
}

function library(id: string, c: Contender, kind: Row["kind"]): Row {
  return { id, label: c.name, kind, prepare: (url) => c.prepare(url, LOAD) };
}

function floor(id: string, kind: FloorKind, clients: number, label: string): Row {
  return {
    id,
    label,
    kind: kind === "sent" ? "floor" : "ceiling",
    async prepare(url) {
      await createGearboxTables(url);
      return { run: () => runFloor(url, kind, clients, LOAD), close: async () => {} };
    },
  };
}

const ALL_ROWS: Row[] = [
  library("gearbox", gearbox, "gearbox"),
  library("gearbox-library", gearboxLibrary, "gearbox"),
  library("runtime-floor", runtimeFloor(createGearboxTables), "runtime"),
  library("pg-boss", pgBoss, "competitor"),
  library("graphile-worker", graphileWorker, "competitor"),
  library("graphile-worker-keyed", graphileWorkerKeyed, "keyed"),
  floor("floor-1", "sent", 1, "pgbench floor: rows sent (unnest), 1 client"),
  floor(`floor-${FLOOR_CLIENTS}`, "sent", FLOOR_CLIENTS, `pgbench floor: rows sent (unnest), ${FLOOR_CLIENTS} clients`),
  floor("server-1", "server", 1, "pgbench: rows made in the server, 1 client"),
  nodesRow(1, LOAD),
  nodesRow(3, LOAD),
];
const ONLY = values.only?.split(",");
const unknown = ONLY?.filter((id) => !ALL_ROWS.some((r) => r.id === id)) ?? [];
if (unknown.length > 0) throw new Error(`--only: unknown ${unknown.join(", ")} (ids: ${ALL_ROWS.map((r) => r.id).join(" ")})`);
const ROWS = ALL_ROWS.filter((r) => !ONLY || ONLY.includes(r.id));

interface Sample {
  rate: number;
  pgUs: number;
  appUs: number;
  /** The Gearman client's (loadgen's) CPU per job, for a row fed by it. */
  clientUs: number | undefined;
}

function ensureLoadgen(): void {
  if (existsSync(LOADGEN)) return;
  mkdirSync(join(ROOT, "scripts/bench/build"), { recursive: true });
  const args = ["-O2", "-std=gnu11", "-pthread", "-o", LOADGEN, join(ROOT, "scripts/bench/loadgen.c"), "-lgearman", "-lm"];
  if (spawnSync("cc", args, { stdio: "inherit" }).status !== 0) throw new Error("compiling loadgen.c failed (needs libgearman-dev)");
}

async function measure(row: Row, url: string, pgPort: number): Promise<Sample> {
  const prepared = await row.prepare(url);
  try {
    const pg0 = postgresCpuSeconds(pgPort);
    const r = await prepared.run();
    const pg = postgresCpuSeconds(pgPort) - pg0;
    const clientUs = r.clientCpu === undefined ? undefined : (r.clientCpu / r.jobs) * 1e6;
    return { rate: r.jobs / r.seconds, pgUs: (pg / r.jobs) * 1e6, appUs: (r.appCpu / r.jobs) * 1e6, clientUs };
  } finally {
    await prepared.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** `a / b` to `digits` places, or n/a when either was not measured. */
function over(a: number, b: number, digits: number, scale = 1): string {
  return a > 0 && b > 0 ? ((scale * a) / b).toFixed(digits) : "n/a";
}

function table(samples: Map<string, Sample[]>): string {
  const best = (id: string) => Math.max(0, ...(samples.get(id) ?? []).map((s) => s.rate));
  const competitor = Math.max(0, ...ROWS.filter((r) => r.kind === "competitor").map((r) => best(r.id)));
  const keyed = best("graphile-worker-keyed");
  const floor1 = best("floor-1");
  const floorN = best(`floor-${FLOOR_CLIENTS}`);
  const lines = [
    `| contender | best jobs/s | median jobs/s | × best competitor | × keyed | % of floor (1 / ${FLOOR_CLIENTS} clients) | PostgreSQL CPU µs/job | producer CPU µs/job | client CPU µs/job |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of ROWS.filter((r) => r.kind !== "nodes")) {
    const s = samples.get(row.id) ?? [];
    if (s.length === 0) {
      lines.push(`| ${row.label} | err | | | | | | | |`);
      continue;
    }
    const top = s.reduce((a, b) => (b.rate > a.rate ? b : a));
    const library = row.kind === "gearbox" || row.kind === "runtime" || row.kind === "competitor" || row.kind === "keyed";
    const ratio = library ? over(top.rate, competitor, 2) : "";
    const ratioKeyed = library ? over(top.rate, keyed, 2) : "";
    const pct = row.kind === "ceiling" ? "" : `${over(top.rate, floor1, 0, 100)} / ${over(top.rate, floorN, 0, 100)}`;
    const cells = [
      Math.round(top.rate),
      Math.round(median(s.map((x) => x.rate))),
      ratio,
      ratioKeyed,
      pct,
      top.pgUs.toFixed(1),
      library ? top.appUs.toFixed(1) : "",
      top.clientUs === undefined ? "" : top.clientUs.toFixed(1),
    ];
    lines.push(`| ${row.label} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The one-node-against-three section, or why it is missing. */
function printNodes(took: number): void {
  const rows = ROWS.flatMap((r) => (r.kind === "nodes" ? [r as ReturnType<typeof nodesRow>] : []));
  if (rows.length === 0) {
    console.log("\nOne node against three nodes: not measured in this run (left out by --only; ids nodes-1, nodes-3).");
    return;
  }
  console.log(`\nOne gearbox node against three on the same database: ${LOAD.jobs} jobs in all (split evenly over the nodes),`);
  console.log(`${LOAD.size} B, batches of ${LOAD.batch}, one loadgen producer per node, all at once; best and median of ${REPEAT} rounds,`);
  console.log(`the same cluster (fsync on), ${cpus().length} CPUs shared by the nodes, the producers and PostgreSQL; took ${took} s\n`);
  console.log(nodesTable(rows, (id) => samples.get(id) ?? []));
  console.log("\njobs/s: all jobs acknowledged over the wall time from the first producer's start to the last one's finish.");
}

if (!existsSync(join(ROOT, "dist/gearbox"))) throw new Error("dist/gearbox is missing: run npm run build first");
ensureLoadgen();
const cluster = await startCluster({ fsync: true });
if (!cluster.ok) throw new Error(cluster.skip);
const pg = cluster.pg;
const pgPort = Number(new URL(await pg.createDatabase()).port);
const t0 = Date.now();
console.error(
  `[bench] PostgreSQL ${pg.origin} (fsync on); ${LOAD.jobs} jobs of ${LOAD.size} B in batches of ${LOAD.batch}, ${REPEAT} rounds`,
);
const samples = new Map<string, Sample[]>();
for (let round = 0; round < REPEAT; round++) {
  const order = ROWS.map((_, i) => ROWS[(i + round) % ROWS.length]!);
  if (round % 2) order.reverse();
  for (const row of order) {
    try {
      const s = await measure(row, await pg.createDatabase(), pgPort);
      samples.set(row.id, [...(samples.get(row.id) ?? []), s]);
      console.error(`[bench] round ${round + 1}: ${row.label}: ${Math.round(s.rate)} jobs/s, PostgreSQL ${s.pgUs.toFixed(0)} µs/job`);
    } catch (e) {
      console.error(`[bench] round ${round + 1}: ${row.label} FAILED: ${(e as Error).message}`);
    }
  }
  await pg.dropDatabases();
}
const took = Math.round((Date.now() - t0) / 1000);
if (ROWS.some((r) => r.kind !== "nodes")) {
  console.log(`\nDurable background submit on PostgreSQL: ${LOAD.jobs} jobs of ${LOAD.size} B, batches of ${LOAD.batch}, one producer;`);
  console.log(`best and median of ${REPEAT} rounds, one cluster with fsync on, took ${took} s\n`);
  console.log(table(samples));
  console.log("\n× best competitor: jobs/s over the best of the faster of pg-boss and graphile-worker (jobs without a key).");
  console.log("× keyed: over graphile-worker's best with a jobKey per job, the same jobs as gearbox's (each with a unique).");
  console.log(
    `% of floor: over pgbench's best with rows sent from 1 client (one transaction in flight, like one producer) / from ${FLOOR_CLIENTS}.`,
  );
  console.log(
    "PostgreSQL CPU: postmaster and backends, per job; producer CPU: the gearbox server, or the bench process for the libraries;",
  );
  console.log(
    "client CPU: loadgen (libgearman) feeding a server, start-up included, or the bench process for gearbox fed by its library; the libraries' own client work is in their producer CPU.",
  );
  const runtime = samples.get("runtime-floor") ?? [];
  const ours = samples.get("gearbox") ?? [];
  if (runtime.length > 0 && ours.length > 0) {
    const top = (s: Sample[]) => s.reduce((a, b) => (b.rate > a.rate ? b : a));
    console.log(
      `runtime floor: pg_floor_server.ts, the same protocol, rows, driver and commits with no job server behind them; ` +
        `gearbox reaches ${over(top(ours).rate, top(runtime).rate, 2)}× its best rate at ${
          over(top(ours).appUs, top(runtime).appUs, 2)
        }× its CPU per job.`,
    );
  }
}
printNodes(took);
process.exit(0);
