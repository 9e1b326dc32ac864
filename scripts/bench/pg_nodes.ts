/**
 * One gearbox node against three, in the PostgreSQL comparison
 * (postgres_compare.ts, issue 14): durable background submit with one
 * `gearbox serve` fed by one loadgen producer (`nodes-1`), and with three
 * `gearbox serve` processes on the same database (distinct `--node-id`,
 * distinct ports, docs/cluster.md), each fed by its own loadgen producer at
 * the same time (`nodes-3`), the same total jobs split in three, the same
 * batch and size.
 *
 * The rate is the total jobs acknowledged over the wall time from the first
 * producer's start to the last one's finish (each producer's start is taken
 * from its own timing, so process start-up is left out, as in the gearbox
 * row). gearbox CPU is summed over the nodes; the table adds an estimate of
 * what that CPU per job implies on a machine with more cores.
 *
 * @module
 */
import { cpus } from "node:os";
import { type BgSubmit, bgsubmit, type Load, type RunResult, startGearbox } from "./pg_contenders.ts";
import { cpuSeconds } from "./proc_cpu.ts";

/** A row of postgres_compare.ts: untimed `prepare` (start the nodes), timed `run`, `close`. */
export interface NodesRow {
  id: string;
  label: string;
  kind: "nodes";
  prepare(url: string): Promise<{ run(): Promise<RunResult>; close(): Promise<void> }>;
}

/** One measured run, as postgres_compare.ts records it. */
export interface NodesSample {
  rate: number;
  pgUs: number;
  appUs: number;
}

/** `total` split into `n` parts that differ by at most one. */
export function split(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => Math.floor(total / n) + (k < total % n ? 1 : 0));
}

/** Seconds from the first producer's start to the last one's finish. */
export function wallSeconds(runs: BgSubmit[]): number {
  const start = Math.min(...runs.map((r) => r.exitedAt - r.seconds * 1000));
  const end = Math.max(...runs.map((r) => r.exitedAt));
  return (end - start) / 1000;
}

/** The row with `n` gearbox nodes on one database, each with its own producer. */
export function nodesRow(n: number, load: Load): NodesRow {
  return {
    id: `nodes-${n}`,
    label: n === 1 ? "1 node, 1 producer" : `${n} nodes, ${n} producers at once`,
    kind: "nodes",
    async prepare(url) {
      const nodes = await Promise.all(
        Array.from({ length: n }, (_, k) => startGearbox(url, ["--node-id", `bench-${k + 1}`])),
      );
      const pids = nodes.map((s) => s.pid);
      return {
        async run() {
          const cpu0 = cpuSeconds(pids);
          const parts = split(load.jobs, n);
          const runs = await Promise.all(nodes.map((s, k) => bgsubmit(s.port, { ...load, jobs: parts[k]! })));
          const appCpu = cpuSeconds(pids) - cpu0;
          return { jobs: runs.reduce((a, r) => a + r.jobs, 0), seconds: wallSeconds(runs), appCpu };
        },
        close: async () => {
          await Promise.all(nodes.map((s) => s.stop()));
        },
      };
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const thousands = (x: number) => Math.round(x).toLocaleString("en-US");

/** The table of the nodes rows (best run's CPU, as the main table), then the estimate lines. */
export function nodesTable(rows: NodesRow[], samples: (id: string) => NodesSample[]): string {
  const best = (id: string) => samples(id).reduce<NodesSample | undefined>((a, b) => (a && a.rate >= b.rate ? a : b), undefined);
  const one = best("nodes-1");
  const lines = [
    "| nodes | best jobs/s | median jobs/s | × 1 node | gearbox CPU µs/job (all nodes) | PostgreSQL CPU µs/job | both µs/job |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const top = best(row.id);
    if (!top) {
      lines.push(`| ${row.label} | err | | | | | |`);
      continue;
    }
    const ratio = one && one.rate > 0 ? (top.rate / one.rate).toFixed(2) : "n/a";
    const cells = [thousands(top.rate), thousands(median(samples(row.id).map((s) => s.rate))), ratio];
    cells.push(top.appUs.toFixed(1), top.pgUs.toFixed(1), (top.appUs + top.pgUs).toFixed(1));
    lines.push(`| ${row.label} | ${cells.join(" | ")} |`);
  }
  lines.push("", ...estimate(rows, best));
  return lines.join("\n");
}

/** `x` rounded to two significant digits, for estimates that are no better than that. */
const rough = (x: number) => thousands(Number(x.toPrecision(2)));

/** What the CPU per job implies, row by row; labelled as an estimate, with what it leaves out. */
function estimate(rows: NodesRow[], best: (id: string) => NodesSample | undefined): string[] {
  const n = cpus().length;
  const out = [
    "Estimate from CPU time alone (a ceiling, not a measurement: it assumes the CPU per job stays as measured and leaves",
    "out WAL flush waits, lock waits, the network, and the loadgen producers' own CPU, which is not counted):",
  ];
  for (const row of rows) {
    const s = best(row.id);
    if (!s || s.appUs <= 0 || s.pgUs <= 0) continue;
    out.push(
      `* ${row.label}: a core of gearbox carries about ${rough(1e6 / s.appUs)} jobs/s (1e6 / ${s.appUs.toFixed(1)} µs); ` +
        `PostgreSQL at ${s.pgUs.toFixed(1)} µs/job, about ${rough(1e6 / s.pgUs)} jobs/s per core it gets; ` +
        `both on this machine's ${n} CPUs, at most about ${rough((n * 1e6) / (s.appUs + s.pgUs))} jobs/s.`,
    );
  }
  out.push(
    "A node is one event loop, so it carries at most about a core's worth. More nodes add gearbox cores, not PostgreSQL's:",
    "with enough cores the cluster's rate is at most the smaller of (nodes × a core of gearbox) and (PostgreSQL's cores ×",
    "its per-core figure), and the one database's WAL flushes are shared by every node.",
  );
  return out;
}
