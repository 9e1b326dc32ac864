/**
 * The PostgreSQL adapter's pool: once ended it opens no connection, even
 * when the driver's retry after a failed connect fires later and the
 * database answers by then (such a connection would belong to nobody and keep
 * a stopped server's process alive). On a real PostgreSQL reached through a
 * forwarder that appears right after the failure. And a pool whose connects
 * all failed, again and again, connects once the database answers. And a
 * pool whose backends are terminated under load keeps the process alive and
 * works afterwards.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { openPostgres } from "../../src/runtime/postgres.ts";
import { openStore } from "../../src/store/open_store.ts";
import { freePort } from "../helpers/free_port.ts";
import { testPostgres } from "../helpers/postgres.ts";
import { forward, type Forwarder } from "../helpers/tcp_forward.ts";
import { sleep } from "../helpers/wait.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const forwarders: Forwarder[] = [];
after(async () => {
  for (const f of forwarders) await f.close();
});

test("a store whose first open failed leaves no connection behind once closed, though the database answered right after the failure", {
  skip,
}, async () => {
  const url = new URL(await (postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip))));
  const database = url.pathname.slice(1);
  const admin = openPostgres(url.href, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-tests" });
  try {
    const target = { host: url.hostname, port: Number(url.port) };
    url.port = String(await freePort());
    const store = openStore(url.href);
    await assert.rejects(store.open(), { code: "STORE_UNAVAILABLE" });
    forwarders.push(await forward(Number(url.port), target)); // at once: the driver's retry finds it
    await store.open();
    await store.close();
    await sleep(300); // the driver's own retry timer, if any, has fired by then
    const [row] = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'gearbox'",
      [database],
    );
    assert.equal(row!.n, 0, "connections the closed store left open");
  } finally {
    await admin.end();
  }
});

test("a pool whose every connection failed to connect, several times over (a database restarting), works again once the database answers", {
  skip,
}, async () => {
  const url = new URL(await (postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip))));
  const target = { host: url.hostname, port: Number(url.port) };
  url.port = String(await freePort());
  const pool = openPostgres(url.href, { max: 2, connectTimeoutS: 5, applicationName: "gearbox-tests" });
  try {
    for (let i = 0; i < 6; i++) await assert.rejects(pool.query("SELECT 1"), { code: "ECONNREFUSED" }, `attempt ${i}`);
    forwarders.push(await forward(Number(url.port), target));
    const answered = await Promise.race([
      pool.query("SELECT 1 AS one").then((rows) => rows[0]?.one),
      sleep(5000).then(() => "no answer within 5 s: the pool still counts its failed connections as connecting"),
    ]);
    assert.equal(answered, 1);
  } finally {
    await pool.end();
  }
});

test("backends terminated again and again under queries, COPYs and transactions: the process survives and the pool works afterwards", {
  skip,
  timeout: 20_000,
}, async () => {
  // postgres.js 3.4.9 unpatched ends the process here (patches/postgres+3.4.9.patch, docs/runtime.md §9): a
  // TypeError from a write queued on a connection that closed, an uncaught 'error' from a COPY stream handed
  // to the wrong query, or a pool left hanging on connections that never finish reconnecting.
  const url = await (postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip)));
  const escaped: unknown[] = [];
  const record = (e: unknown) => void escaped.push(e);
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
  const admin = openPostgres(url, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-tests" });
  const pool = openPostgres(url, { max: 4, connectTimeoutS: 5, applicationName: "gearbox-terminated" });
  const rows = new TextEncoder().encode(Array.from({ length: 50 }, (_, i) => `${i}\n`).join(""));
  const kinds = [
    () => pool.query("SELECT 1"),
    () => pool.copyIn("COPY t (a) FROM STDIN", rows),
    () =>
      pool.transaction(async (tx) => {
        await tx.copyIn("COPY t (a) FROM STDIN", rows);
        await Promise.all([tx.query("UPDATE t SET a = a WHERE a = 1"), tx.query("DELETE FROM t WHERE a = 2")]);
      }),
  ];
  let running = true, failed = 0;
  const worker = async (k: number) => {
    while (running) {
      await kinds[k % kinds.length]!().catch(async () => {
        failed++;
        await sleep(2); // while the connections are down a statement fails at once: no busy loop meanwhile
      });
    }
  };
  const bound = async <T>(what: string, p: Promise<T>): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`${what} within 5 s`)), 5000));
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await admin.query("CREATE TABLE t (a integer)");
    const workers = Array.from({ length: 12 }, (_, k) => worker(k));
    for (let i = 0; i < 40 && escaped.length === 0; i++) {
      await sleep(50 + (i % 5) * 25);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gearbox-terminated'");
    }
    running = false;
    await bound("every statement settled", Promise.all(workers));
    assert.deepEqual(escaped.map(String), [], "errors no caller could catch (each would have ended the process)");
    assert.ok(failed > 0, "the terminations failed statements");
    await bound("the pool answered", Promise.all(Array.from({ length: 3 }, () => kinds.map((run) => run())).flat()));
  } finally {
    running = false;
    process.off("uncaughtException", record);
    process.off("unhandledRejection", record);
    await pool.end();
    await admin.end();
  }
});
