/**
 * What the PostgreSQL store adds to the store contract (job_store_contract.test.ts
 * runs that on it too): its URL, its migrations, refusing a database that is
 * not its own, one process per node id, a batch that fails leaving nothing,
 * an unreachable server named in the error, damaged rows refused. On a real
 * PostgreSQL (tests/helpers/postgres.ts).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openStore } from "../../src/store/open_store.ts";
import { PG_MIGRATIONS } from "../../src/store/postgres_schema.ts";
import { parsePostgresUrl } from "../../src/store/postgres_url.ts";
import { freePort } from "../helpers/free_port.ts";
import { sqlOn, testPostgres } from "../helpers/postgres.ts";
import { storedJob } from "../helpers/stored_job.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));

const job = storedJob;

const sql = sqlOn;

const isCode = (code: string, message?: RegExp) => (e: Error & { code?: string }) =>
  e.code === code && (message === undefined || message.test(e.message));

describe("the postgres store's URL", () => {
  test("takes postgres:// and postgresql://, a pool size and a connect timeout, and hides the password in what it shows", () => {
    const t = parsePostgresUrl("postgresql://gb:s3cret@db.example:6543/jobs?pool=7&connect_timeout=3&sslmode=require");
    assert.deepEqual([t.pool, t.connectTimeoutS], [7, 3]);
    assert.equal(t.connect, "postgresql://gb:s3cret@db.example:6543/jobs?sslmode=require");
    assert.ok(!t.display.includes("s3cret"), t.display);
    assert.equal(openStore("postgres://gb:s3cret@db.example/jobs").url, "postgres://gb:***@db.example/jobs");
    assert.equal(parsePostgresUrl("postgres://gb@db.example/jobs").pool, 4, "four connections unless told");
  });

  test("takes how many commits of new jobs may be in flight: two unless told, never more than the pool", () => {
    assert.equal(openStore("postgres://gb@db.example/jobs").commitLanes, 2);
    assert.equal(parsePostgresUrl("postgres://gb@db.example/jobs?commits=3&pool=6").commits, 3);
    assert.equal(parsePostgresUrl("postgres://gb@db.example/jobs?pool=1").commits, 1, "a pool of one takes one commit at a time");
    assert.throws(
      () => openStore("postgres://gb@db.example/jobs?pool=2&commits=3"),
      isCode("BAD_STORE_URL", /commits must be a whole number from 1 to 2, got "3"/),
    );
    assert.throws(() => openStore("postgres://gb@db.example/jobs?commits=0"), isCode("BAD_STORE_URL", /commits/));
  });

  test("refuses a URL without a database, with a bad pool size or with an option it does not know, before connecting", () => {
    assert.throws(() => openStore("postgres://gb@db.example"), isCode("BAD_STORE_URL", /needs one database name/));
    assert.throws(
      () => openStore("postgres://gb@db.example/jobs?pool=0"),
      isCode("BAD_STORE_URL", /pool must be a whole number from 1 to 64/),
    );
    assert.throws(() => openStore("postgres://gb@db.example/jobs?pool=many"), isCode("BAD_STORE_URL", /pool/));
    assert.throws(() => openStore("postgres://gb@db.example/jobs?poll=4"), isCode("BAD_STORE_URL", /unknown option poll/));
  });
});

describe("the postgres store on a real server", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("migrates an empty database to the latest schema version, once, and names the versions it ran", async () => {
    const url = await newDatabase();
    const a = openStore(url);
    assert.deepEqual(Array.from(await a.open()), []);
    await a.close();
    const b = openStore(url);
    await b.open();
    await b.close();
    const versions = await sql(url, "SELECT version FROM gearbox_schema_version ORDER BY version");
    assert.deepEqual(versions.map((r) => r.version), PG_MIGRATIONS.map((_, i) => i + 1));
    const tables = await sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename");
    assert.deepEqual(tables.map((r) => r.tablename), [
      "gearbox_job",
      "gearbox_name",
      "gearbox_node",
      "gearbox_schedule",
      "gearbox_schema_version",
    ]);
  });

  test("refuses a database whose schema version is newer than this gearbox's, without changing it", async () => {
    const url = await newDatabase();
    const a = openStore(url);
    await a.open();
    await a.close();
    await sql(url, "INSERT INTO gearbox_schema_version (version) VALUES (99)");
    await assert.rejects(openStore(url).open(), isCode("STORE_CORRUPT", /schema version 99, newer than this gearbox/));
  });

  test("refuses a database that holds another program's table, naming it, and leaves the database untouched", async () => {
    const url = await newDatabase();
    await sql(url, "CREATE TABLE customers (id integer PRIMARY KEY, name text); INSERT INTO customers VALUES (1, 'Ada')");
    await assert.rejects(
      openStore(url).open(),
      isCode("STORE_CORRUPT", /is not a gearbox store: schema public holds other tables \(customers\)/),
    );
    const tables = await sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    assert.deepEqual(tables.map((r) => r.tablename), ["customers"], "no table of gearbox's was created");
    assert.deepEqual(await sql(url, "SELECT name FROM customers"), [{ name: "Ada" }]);
  });

  test("an unreachable server rejects the open with STORE_UNAVAILABLE, naming the store and never its password", async () => {
    const port = await freePort();
    const store = openStore(`postgres://gb:s3cret@127.0.0.1:${port}/jobs?connect_timeout=2`);
    const t0 = Date.now();
    await assert.rejects(store.open(), (e: Error & { code?: string }) => {
      assert.equal(e.code, "STORE_UNAVAILABLE");
      assert.match(e.message, new RegExp(`cannot reach the PostgreSQL store postgres://gb:\\*\\*\\*@127\\.0\\.0\\.1:${port}/jobs`));
      assert.ok(!e.message.includes("s3cret"), e.message);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, "a refused connection fails at once, not after the timeout");
  });

  test("a batch with a failing row commits nothing: the other new jobs, the updates and the removals are not applied", async () => {
    const url = await newDatabase();
    const a = openStore(url);
    await a.open();
    await a.commit({ add: [job(1), job(2)], remove: [] });
    await assert.rejects(
      a.commit({ add: [job(3), job(1)], update: [job(2, { runAt: 9000, retries: 1 })], remove: [2] }),
      isCode("STORE_CORRUPT", /refused a row/),
    );
    assert.equal(await a.payload(3), undefined);
    await a.commit({ add: [job(4)], remove: [] });
    await a.close();
    const b = openStore(url);
    assert.deepEqual(Array.from(await b.open(), (j) => [j.id, j.runAt, j.retries]), [[1, 0, 0], [2, 0, 0], [4, 0, 0]]);
    await b.close();
  });

  test("a second process with the same node id is refused while the first has the store open, and gets it once the first closed", async () => {
    const url = await newDatabase();
    const first = openStore(url);
    await first.open();
    await assert.rejects(openStore(url).open(), isCode("STORE_LOCKED", /in use by another gearbox serve/));
    await first.close();
    const second = openStore(url);
    await second.open();
    await second.close();
  });

  test("a row changed behind gearbox's back fails its checksum and the store is refused, naming the row", async () => {
    const url = await newDatabase();
    const a = openStore(url);
    await a.open();
    await a.commit({ add: [job(1), job(2), job(3, { unique: "-" })], remove: [] });
    await a.close();
    await sql(url, "INSERT INTO gearbox_name (name) VALUES ('g')");
    await sql(url, "UPDATE gearbox_job SET function = (SELECT number FROM gearbox_name WHERE name = 'g') WHERE id = 2");
    await assert.rejects(openStore(url).open(), isCode("STORE_CORRUPT", /job rows 2 fail their checksum/));
    await sql(url, "UPDATE gearbox_job SET function = (SELECT number FROM gearbox_name WHERE name = 'f') WHERE id = 2");
    await sql(url, "UPDATE gearbox_job SET data = '\\x00' WHERE id = 1");
    const b = openStore(url);
    await b.open();
    await assert.rejects(b.payload(1), isCode("STORE_CORRUPT", /workload of job 1 fails its checksum/));
    await b.close();
  });

  test("keeps text that looks like SQL's NULL or array syntax, and a failure log, exactly", async () => {
    const url = await newDatabase();
    const a = openStore(url);
    await a.open();
    const odd = job(1, { function: "NULL", unique: '{"a,b"}\\', reducer: "", failures: [{ at: 5, message: "x" }], retries: 1 });
    await a.commit({ add: [odd], remove: [] });
    await a.close();
    const b = openStore(url);
    const [back] = Array.from(await b.open());
    assert.deepEqual({ ...back!, data: await b.payload(1) }, odd);
    await b.close();
  });

  test("discarding a store that created its tables drops them again; the database is as it was", async () => {
    const url = await newDatabase();
    const a = openStore(url);
    await a.open();
    await a.discard!();
    assert.deepEqual(await sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"), []);
  });

  test("the admin backup is refused with advice naming pg_dump", () => {
    assert.match(openStore("postgres://gb@db.example/jobs").backupAdvice ?? "", /pg_dump/);
  });
});
