/**
 * New jobs staged before their commit (JobStore.stage, PostgreSQL's COPY
 * sent while the batch still gathers), on a real PostgreSQL: nothing is
 * visible before the commit; the commit ends the COPY with the rest of the
 * batch; a batch that gained updates or deletes gives the COPY up and
 * commits as usual, each job once; a staged job that meets a live unique
 * falls back to the slow way and is reported; a COPY given up by close
 * leaves nothing behind.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openStore } from "../../src/store/open_store.ts";
import type { PostgresStore } from "../../src/store/postgres_store.ts";
import { sqlOn, testPostgres } from "../helpers/postgres.ts";
import { storedJob } from "../helpers/stored_job.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));

async function storeAs(url: string, id: string): Promise<PostgresStore> {
  const store = openStore(url) as PostgresStore;
  store.join({ id });
  await store.open();
  return store;
}

const ids = async (url: string, node: string) =>
  (await sqlOn(url, "SELECT id FROM gearbox_jobs WHERE node = $1 ORDER BY id", [node])).map((r) => Number(r.id));

describe("new jobs staged before their commit on PostgreSQL", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("staged jobs are invisible until the commit, which sends the rest of the batch and makes all of them durable", async () => {
    const url = await newDatabase();
    const a = await storeAs(url, "a");
    try {
      const r = a.ids.base;
      const batch = Array.from({ length: 30 }, (_, i) => storedJob(r + i + 1, { unique: `s${i}` }));
      a.stage(batch.slice(0, 10));
      a.stage(batch.slice(10, 20));
      await sqlOn(url, "SELECT pg_sleep(0.05)"); // the staged rows reach the server meanwhile
      assert.deepEqual(await ids(url, "a"), [], "nothing is visible before the commit");
      assert.equal(await a.commit({ add: batch, remove: [] }), undefined);
      assert.deepEqual(await ids(url, "a"), batch.map((j) => j.id));
    } finally {
      await a.close();
    }
  });

  test("a batch that gained a delete gives its staged COPY up and commits as usual, each job once", async () => {
    const url = await newDatabase();
    const a = await storeAs(url, "a");
    try {
      const r = a.ids.base;
      await a.commit({ add: [storedJob(r + 1)], remove: [] });
      const batch = [storedJob(r + 2, { unique: "x" }), storedJob(r + 3)];
      a.stage(batch);
      await a.commit({ add: batch, remove: [r + 1] });
      assert.deepEqual(await ids(url, "a"), [r + 2, r + 3]);
      // The next staged batch starts a COPY of its own.
      a.stage([storedJob(r + 4)]);
      await a.commit({ add: [storedJob(r + 4), storedJob(r + 5)], remove: [] });
      assert.deepEqual(await ids(url, "a"), [r + 2, r + 3, r + 4, r + 5]);
    } finally {
      await a.close();
    }
  });

  test("a staged job whose unique is live on another node is reported with that job's handle; the others commit", async () => {
    const url = await newDatabase();
    const a = await storeAs(url, "a"), b = await storeAs(url, "b");
    try {
      const ra = a.ids.base, rb = b.ids.base;
      await a.commit({ add: [storedJob(ra + 1, { function: "mix", unique: "taken" })], remove: [] });
      const batch = [
        storedJob(rb + 1, { function: "mix", unique: "fresh" }),
        storedJob(rb + 2, { function: "mix", unique: "taken" }),
        storedJob(rb + 3, { function: "mix" }),
      ];
      b.stage(batch.slice(0, 2));
      const result = await b.commit({ add: batch, remove: [] });
      assert.deepEqual([...(result?.coalesced ?? [])], [[rb + 2, `H:t.boot:${ra + 1}`]]);
      assert.deepEqual(await ids(url, "b"), [rb + 1, rb + 3]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("a store closed with a staged COPY gives it up: the rows never appear and the database keeps no session of it", async () => {
    const url = await newDatabase();
    const a = await storeAs(url, "a");
    const r = a.ids.base;
    a.stage([storedJob(r + 1), storedJob(r + 2)]);
    await a.close();
    assert.deepEqual(await ids(url, "a"), []);
    const copying = await sqlOn(
      url,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%'",
    );
    assert.equal(copying[0]!.n, 0);
  });

  test("plain new jobs and jobs with a reducer, a run time or retries replay as they were, checksums intact, staged or not", async () => {
    const url = await newDatabase();
    const a = await storeAs(url, "a");
    const r = a.ids.base;
    const plain = (n: number) => storedJob(r + n, { unique: `p${n}` });
    const full = [
      storedJob(r + 4, { reducer: "sum" }),
      storedJob(r + 5, { runAt: 9_000_000_000_000 }),
      storedJob(r + 6, { retries: 2, failures: [{ at: 5, message: "boom" }] }),
    ];
    try {
      a.stage([plain(1), plain(2)]); // staged, then a job with a reducer joins the same COPY
      await a.commit({ add: [plain(1), plain(2), full[0]!], remove: [] });
      a.stage([full[1]!]); // a run time staged, a plain one after it rides along
      await a.commit({ add: [full[1]!, plain(7)], remove: [] });
      await a.commit({ add: [plain(8), plain(9)], remove: [] }); // not staged: one COPY
      await a.commit({ add: [full[2]!, plain(10)], remove: [] }); // not staged, with a retried job
    } finally {
      await a.close();
    }
    const again = openStore(url) as PostgresStore;
    again.join({ id: "a" });
    try {
      const replayed = [...await again.open()].sort((x, y) => x.id - y.id);
      const want = [plain(1), plain(2), full[0]!, full[1]!, plain(7), plain(8), plain(9), full[2]!, plain(10)].sort((x, y) => x.id - y.id);
      const fields = (
        j: typeof want[number],
      ) => [j.id, j.handle, j.function, j.unique, j.reducer, j.priority, j.runAt, j.createdAt, j.retries, j.failures];
      assert.deepEqual(replayed.map(fields), want.map(fields), "every row back as it was, none refused as damaged");
    } finally {
      await again.close();
    }
  });
});
