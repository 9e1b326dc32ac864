/**
 * The database's own floor for the PostgreSQL comparison: `pgbench` running a
 * custom script that inserts the same number of rows per transaction into
 * gearbox's own table (created by opening a gearbox store on the database, so
 * the rows have exactly gearbox's width, indexes and constraints), with
 * nothing between the client and the server but libpq.
 *
 * - `sent`: the rows travel from the client, as one `INSERT ... SELECT FROM
 *   unnest(array literals)` per transaction, the statement shape gearbox's
 *   store uses: the honest floor (see README.md, "The floor").
 * - `server`: the rows are made in the server (`generate_series`), so nothing
 *   but the statement crosses the wire: a ceiling no client can reach.
 *
 * Rows name their node, handle prefix and function by number, as gearbox's
 * do (migration 5). Each transaction writes under its own `node` value (a random number) so
 * the primary key (node, id) never collides across transactions or clients,
 * and appends that number to its uniques, so every row has its own unique,
 * as loadgen's jobs do, and none meets the unique index of live rows
 * (migration 3) that every row with a unique pays for.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Load, RunResult } from "./pg_contenders.ts";
import { openStore } from "../../src/store/open_store.ts";

export type FloorKind = "sent" | "server";

const COLUMNS = "node, id, prefix, function, uniq, data, reducer, priority, run_after, created_at, meta_crc, data_crc, retries";

/** The pgbench script: one transaction of `batch` rows of `size`-byte workloads. */
export function floorScript(kind: FloorKind, batch: number, size: number): string {
  const hex = "78".repeat(size);
  const head = `\\set r random(1, 2000000000)\nINSERT INTO gearbox_job (${COLUMNS})\n`;
  if (kind === "server") {
    return head + `SELECT :r, i, 1, 2, 'u-' || :r || '-' || i, '\\x${hex}'::bytea, '', 1, 0, ` +
      `1700000000000 + i, 1234567890, 987654321, 0 FROM generate_series(1, ${batch}) AS i;\n`;
  }
  const ids = Array.from({ length: batch }, (_, i) => i + 1);
  const arr = (values: (string | number)[], type: string) => `'{${values.join(",")}}'::${type}[]`;
  const unnest = [
    arr(ids, "bigint"),
    arr(ids.map(() => 1), "integer"),
    arr(ids.map(() => 2), "integer"),
    arr(ids.map((i) => `u-${i}`), "text"),
    arr(ids.map(() => `"\\\\x${hex}"`), "bytea"),
    arr(ids.map(() => '""'), "text"),
    arr(ids.map(() => 1), "smallint"),
    arr(ids.map(() => 0), "bigint"),
    arr(ids.map((i) => 1700000000000 + i), "bigint"),
    arr(ids.map(() => 1234567890), "bigint"),
    arr(ids.map(() => 987654321), "bigint"),
    arr(ids.map(() => 0), "integer"),
  ];
  const names = "id, prefix, function, uniq, data, reducer, priority, run_after, created_at, meta_crc, data_crc, retries";
  const select = `:r, ${names.replace("uniq", "uniq || '-' || :r")}`;
  return head + `SELECT ${select} FROM unnest(${unnest.join(", ")}) AS t(${names});\n`;
}

/** Creates gearbox's tables in the database at `url` (an empty gearbox store). */
export async function createGearboxTables(url: string): Promise<void> {
  const store = openStore(url);
  await store.open();
  await store.close();
}

/** pgbench with `clients` connections inserting `load.jobs` rows in all; rows per second from its tps. */
export async function runFloor(url: string, kind: FloorKind, clients: number, load: Load): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "gearbox-floor-"));
  const file = join(dir, `${kind}.sql`);
  writeFileSync(file, floorScript(kind, load.batch, load.size));
  const u = new URL(url);
  const perClient = Math.max(1, Math.round(load.jobs / load.batch / clients));
  const args = ["-n", "-f", file, "-c", String(clients), "-j", String(clients), "-t", String(perClient)];
  args.push("-h", u.hostname, "-p", u.port, "-U", decodeURIComponent(u.username), u.pathname.slice(1));
  const t0 = performance.now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn("pgbench", args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout!.on("data", (d) => (text += d));
    child.stderr!.on("data", (d) => (text += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`pgbench exited with ${code}: ${text.slice(-500)}`))));
  });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
  const jobs = perClient * clients * load.batch;
  // pgbench's own rate excludes its connection setup; the rows it wrote at that rate.
  return { jobs, seconds: Number.isFinite(tps) ? jobs / (tps * load.batch) : seconds, appCpu: 0 };
}
