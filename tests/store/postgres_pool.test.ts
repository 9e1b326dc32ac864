/**
 * The PostgreSQL adapter's pool: once ended it opens no connection, even
 * when the driver's retry after a failed connect fires later and the
 * database answers by then (such a connection would belong to nobody and keep
 * a stopped server's process alive). On a real PostgreSQL reached through a
 * forwarder that appears right after the failure. And a pool whose connects
 * all failed, again and again, connects once the database answers.
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
