/**
 * `bun scripts/postgres_disrupt.ts [terminate|restart] [SECONDS]`: hammers a
 * pool of the PostgreSQL adapter (12 loops of queries, COPYs, COPYs sent in
 * parts and transactions with a COPY, on 4 connections) for SECONDS (default 20) while its backends
 * are terminated every 50–250 ms (`terminate`, the default) or a throwaway
 * cluster is stopped and started again (`restart`), then checks that the pool
 * still answers. Exit 0 when it does; 3 when an error escaped to the process
 * (it would have ended a node), 4 when the pool did not answer within 10 s.
 * It found the driver faults that patches/postgres+3.4.9.patch fixes
 * (docs/runtime.md §9); tests/store/postgres_pool.test.ts is its short form.
 */
import { openPostgres } from "../src/runtime/postgres.ts";
import { startCluster } from "../tests/helpers/postgres.ts";

const mode = process.argv[2] ?? "terminate";
const seconds = Number(process.argv[3] ?? 20);
if (mode !== "terminate" && mode !== "restart") {
  console.error("usage: bun scripts/postgres_disrupt.ts [terminate|restart] [SECONDS]");
  process.exit(64);
}
const escaped = (e: unknown) => {
  console.log("escaped to the process:", e instanceof Error ? e.stack : e);
  process.exit(3);
};
process.on("uncaughtException", escaped);
process.on("unhandledRejection", escaped);

const cluster = await startCluster({ fsync: false });
if (!cluster.ok) throw new Error(cluster.skip);
const url = await cluster.pg.createDatabase();
const admin = openPostgres(url, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-disrupt-admin" });
await admin.query("CREATE TABLE t (a integer)");
const pool = openPostgres(url, { max: 4, connectTimeoutS: 5, applicationName: "gearbox-disrupt" });
const rows = new TextEncoder().encode(Array.from({ length: 50 }, (_, i) => `${i}\n`).join(""));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const half = rows.indexOf(10, rows.length / 2) + 1; // a line boundary: parts of a text COPY
const kinds = [
  () => pool.query("SELECT $1::int AS x", [1]),
  () => pool.copyIn("COPY t (a) FROM STDIN", rows),
  async () => {
    // A staged COPY (the store's `stage`): parts sent as they come, then ended, or given up one time in four.
    const stream = pool.copyStream("COPY t (a) FROM STDIN");
    stream.write(rows.slice(0, half));
    await sleep(Math.random() * 5);
    stream.write(rows.slice(half));
    if (Math.random() < 0.25) return await stream.abort();
    await stream.end();
  },
  () =>
    pool.transaction(async (tx) => {
      await tx.copyIn("COPY t (a) FROM STDIN", rows);
      await Promise.all([tx.query("UPDATE t SET a = a WHERE a = $1", [1]), tx.query("DELETE FROM t WHERE a = $1", [2])]);
    }),
];
let running = true, ok = 0, failed = 0;
const workers = Array.from({ length: 12 }, async (_, k) => {
  while (running) {
    try {
      await kinds[k % kinds.length]!();
      ok++;
    } catch {
      failed++;
      await sleep(2);
    }
  }
});
const t0 = Date.now();
let disruptions = 0;
while (Date.now() - t0 < seconds * 1000) {
  await sleep(50 + Math.random() * 200);
  if (mode === "restart") {
    await cluster.pg.restart!.stop();
    await sleep(Math.random() * 300);
    await cluster.pg.restart!.start();
  } else {
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gearbox-disrupt'")
      .catch(() => {});
  }
  disruptions++;
}
running = false;
const settled = await Promise.race([Promise.all(workers).then(() => true), sleep(10_000).then(() => false)]);
const check = Promise.all(Array.from({ length: 3 }, () => kinds.map((run) => run())).flat()).then(() => "answers", (e) => `fails: ${e}`);
const after = await Promise.race([check, sleep(10_000).then(() => "did not answer within 10 s")]);
console.log(
  `${disruptions} ${mode === "restart" ? "restarts" : "terminations"}, ${ok} statements ok, ${failed} failed` +
    `${settled ? "" : ", some never settled"}; the pool afterwards ${after}`,
);
await pool.end();
await admin.end();
process.exit(after === "answers" && settled ? 0 : 4);
