/**
 * Compact job rows on PostgreSQL (migration 5, src/store/postgres_names.ts):
 * a database an older gearbox left migrates with every row intact, new
 * names are numbered once for the whole cluster, and the `gearbox_jobs`
 * view shows the texts.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { StoredJob } from "../../src/store/job_store.ts";
import { openStore } from "../../src/store/open_store.ts";
import type { PostgresStore } from "../../src/store/postgres_store.ts";
import { ID_RANGE } from "../../src/store/postgres_nodes.ts";
import { sqlOn, testPostgres } from "../helpers/postgres.ts";
import { oldRows, schemaUpTo } from "../helpers/postgres_old_schema.ts";
import { storedJob } from "../helpers/stored_job.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));
const sql = sqlOn;

async function storeAs(url: string, id: string): Promise<PostgresStore> {
  const store = openStore(url) as PostgresStore;
  store.join({ id });
  await store.open();
  return store;
}

/** A job as replay gives it back: the workload stays in the database (read by id). */
const replayed = (j: StoredJob) => ({ ...j, data: undefined });

describe("compact job rows on PostgreSQL", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("a database of schema 4 migrates: every row replays as it was, checksums intact, and the view shows the texts", async () => {
    const url = await newDatabase();
    await schemaUpTo(url, 4);
    await sql(url, "INSERT INTO gearbox_node (node, number) VALUES ('n1', 1)");
    const base = ID_RANGE;
    const jobs = [
      storedJob(base + 1, { function: "resize", unique: "img-1", handle: `H:h.boot1:${base + 1}` }),
      storedJob(base + 2, { function: "mail", retries: 2, failures: [{ at: 5, message: "smtp ✗" }], handle: `H:h.boot0:${base + 2}` }),
      storedJob(base + 3, {
        function: "resize",
        handle: `H:h.boot1:${base + 3}`,
        ended: { outcome: "failed", exitStatus: 3, at: 9, deleteAfter: 99 },
      }),
      storedJob(base + 4, { function: "ünï 漢字", reducer: "sum", runAt: 1_900_000_000_000, priority: 2, handle: `H:h.boot1:${base + 4}` }),
    ];
    await oldRows(url, "n1", jobs);
    const again = openStore(url) as PostgresStore;
    again.join({ id: "n1" });
    const notes: [string, Record<string, unknown>][] = [];
    const back = [...await again.open((message, fields) => notes.push([message, fields]))];
    try {
      assert.deepEqual(notes.map(([m, f]) => [m, f.from ?? f.version]), [["migrating the store's schema", 4], [
        "migrated the store's schema",
        5,
      ]]);
      assert.match(String(notes[0]![1].rewrites), /gearbox_job/, "the log says what the long migration does");
      assert.deepEqual(back.map((j) => ({ ...j })), jobs.map(replayed));
      assert.deepEqual(await again.payload(base + 4), jobs[3]!.data, "a workload read by id passes its checksum");
      const view = await sql(url, "SELECT node, handle, function FROM gearbox_jobs ORDER BY id");
      assert.deepEqual(view, jobs.map((j) => ({ node: "n1", handle: j.handle, function: j.function })));
      const names = await sql(url, "SELECT name FROM gearbox_name ORDER BY name");
      assert.deepEqual(names.map((r) => r.name), ["H:h.boot0", "H:h.boot1", "mail", "resize", "ünï 漢字"], "each text once");
    } finally {
      await again.close();
    }
  });

  test("rows of a node that never registered survive the migration, and a live node adopts them", async () => {
    const url = await newDatabase();
    await schemaUpTo(url, 4);
    const ghost = storedJob(7, { function: "f", handle: "H:ghost.b:7" });
    await oldRows(url, "ghost", [ghost]);
    const store = await storeAs(url, "n2");
    try {
      const [{ state }] = (await sql(url, "SELECT state FROM gearbox_node WHERE node = 'ghost'")) as [{ state: string }];
      assert.equal(state, "live", "registered, with a heartbeat of 1970: dead");
      const adopted = await store.adoptDead(10_000);
      assert.deepEqual(adopted.map((a) => [a.from, a.jobs.map((j) => j.handle), a.damaged]), [["ghost", ["H:ghost.b:7"], []]]);
    } finally {
      await store.close();
    }
  });

  test("two nodes committing jobs of the same new function at once number it once, and both commit", async () => {
    const url = await newDatabase();
    const quiet: string[] = [];
    const first = openStore(url) as PostgresStore;
    first.join({ id: "a" });
    await first.open((message) => quiet.push(message));
    await first.close();
    assert.deepEqual(quiet, [], "a fresh database's migrations are instant: nothing to log");
    const a = await storeAs(url, "a");
    const b = await storeAs(url, "b");
    try {
      for (let round = 0; round < 5; round++) {
        const fn = `fresh-${round}`;
        const job = (s: PostgresStore, n: number) =>
          storedJob(s.ids.base + round * 10 + n, { function: fn, handle: `H:${s === a ? "a" : "b"}.x:${s.ids.base + round * 10 + n}` });
        await Promise.all([a.commit({ add: [job(a, 1), job(a, 2)], remove: [] }), b.commit({ add: [job(b, 1)], remove: [] })]);
        const rows = await sql(url, "SELECT count(*)::integer AS n FROM gearbox_jobs WHERE function = $1", [fn]);
        assert.equal(rows[0]!.n, 3, `round ${round}`);
      }
      const names = await sql(url, "SELECT count(*)::integer AS n, count(DISTINCT name)::integer AS d FROM gearbox_name");
      assert.deepEqual(names[0], { n: 7, d: 7 }, "five functions and two prefixes, each once");
    } finally {
      await a.close();
      await b.close();
    }
  });
});
