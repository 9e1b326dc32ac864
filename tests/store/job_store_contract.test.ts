/**
 * The store port's contract, run against every implementation through its
 * asynchronous port: what one commit adds, updates or removes is there (or
 * gone) after reopening, atomically, and every committed workload reads back
 * by id, whether or not the replay carried it.
 */
import { after, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JobStore, StoredJob } from "../../src/store/job_store.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { openStore } from "../../src/store/open_store.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { testPostgres } from "../helpers/postgres.ts";
import { storedJob } from "../helpers/stored_job.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

const job = storedJob;

const dir = () => tempDir("gearbox-store-");

/** Opens a store and takes what it replays, with each workload it left on disk read back. */
async function replay(store: JobStore): Promise<StoredJob[]> {
  const jobs = Array.from(await store.open());
  return await Promise.all(jobs.map(async (j) => ({ ...j, data: j.data ?? await store.payload(j.id) })));
}

const postgres = await testPostgres();
/** The database of the running postgres test (each test gets an empty one). */
let database = "";

/**
 * Each implementation: how to make one, and how to get "the same store" again
 * after closing; what runs before each test, and why its tests skip.
 */
const IMPLEMENTATIONS: {
  name: string;
  make: () => { fresh: () => JobStore; again: () => JobStore };
  beforeEach?: () => Promise<void>;
  after?: () => Promise<void>;
  skip?: string;
}[] = [
  {
    name: "memory",
    make: () => {
      const m = new MemoryStore();
      return { fresh: () => m, again: () => m };
    },
  },
  {
    name: "sqlite",
    make: () => {
      const p = join(dir(), "jobs.db");
      return { fresh: () => new SqliteStore(p), again: () => new SqliteStore(p) };
    },
  },
  {
    name: "postgres",
    make: () => {
      const url = database;
      return { fresh: () => openStore(url), again: () => openStore(url) };
    },
    beforeEach: async () => {
      if (postgres.ok) database = await postgres.pg.createDatabase();
    },
    after: async () => {
      if (postgres.ok) await postgres.pg.dropDatabases();
    },
    skip: postgres.ok ? undefined : postgres.skip,
  },
];

for (const impl of IMPLEMENTATIONS) {
  describe(`the ${impl.name} store`, { skip: impl.skip }, () => {
    if (impl.beforeEach) beforeEach(impl.beforeEach);
    if (impl.after) after(impl.after);
    test("gives back every committed job, byte for byte, after reopening", async () => {
      const s = impl.make();
      const a = s.fresh();
      assert.deepEqual(await replay(a), []);
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await a.commit({ add: [job(1), job(2, { unique: "u", data: all, priority: 0, runAt: 5000, retries: 3, reducer: "r" })], remove: [] });
      await a.close();
      const b = s.again();
      const back = await replay(b);
      assert.equal(back.length, 2);
      assert.deepEqual({ ...back[1]!, data: [...back[1]!.data!] }, {
        ...job(2, { unique: "u", priority: 0, runAt: 5000, retries: 3, reducer: "r" }),
        data: [...all],
      });
      await b.close();
    });

    test("keeps two jobs with the same function and an empty unique (gearmand's sqlite queue lost one)", async () => {
      const s = impl.make();
      const a = s.fresh();
      await a.open();
      await a.commit({ add: [job(1), job(2)], remove: [] });
      await a.close();
      const b = s.again();
      assert.deepEqual((await replay(b)).map((j) => j.id), [1, 2]);
      await b.close();
    });

    test("keeps a retried job's new run time and failure count", async () => {
      const s = impl.make();
      const a = s.fresh();
      await a.open();
      await a.commit({ add: [job(1), job(2)], remove: [] });
      await a.commit({ add: [], update: [job(1, { runAt: 99_000, retries: 2 })], remove: [] });
      await a.close();
      const b = s.again();
      const back = await replay(b);
      assert.deepEqual(back.map((j) => [j.id, j.runAt, j.retries]), [[1, 99_000, 2], [2, 0, 0]]);
      await b.close();
    });

    test("reads each committed workload back by id, byte for byte, before and after reopening; an unknown id reads as undefined", async () => {
      const s = impl.make();
      const a = s.fresh();
      await a.open();
      const big = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
      await a.commit({ add: [job(1, { data: big }), job(2, { data: new Uint8Array(0) })], remove: [] });
      assert.deepEqual(await a.payload(1), big);
      assert.deepEqual(await a.payload(2), new Uint8Array(0));
      assert.equal(await a.payload(3), undefined);
      await a.close();
      const b = s.again();
      const replayed = Array.from(await b.open());
      assert.deepEqual(replayed.map((j) => j.id), [1, 2]);
      if (!b.payloadsOutOfMemory) assert.deepEqual(replayed[0]!.data, big, "a store that keeps workloads in memory replays them");
      const read = b.payload(1);
      assert.ok(read instanceof Promise, "the read goes through the port's promise");
      assert.deepEqual(await read, big);
      assert.deepEqual(await b.payload(2), new Uint8Array(0));
      assert.equal(await b.payload(3), undefined);
      await b.close();
    });

    test("a workload reads as undefined once its job is removed, and a retry's update, which carries none, keeps it", async () => {
      const s = impl.make();
      const a = s.fresh();
      await a.open();
      await a.commit({ add: [job(1), job(2)], remove: [] });
      await a.commit({ add: [], update: [job(2, { runAt: 7000, retries: 1, data: undefined })], remove: [1] });
      assert.equal(await a.payload(1), undefined);
      assert.deepEqual(await a.payload(2), job(2).data);
      await a.close();
    });

    test("removes what a commit removes, and adds and removes in one commit together", async () => {
      const s = impl.make();
      const a = s.fresh();
      await a.open();
      await a.commit({ add: [job(1), job(2), job(3)], remove: [] });
      await a.commit({ add: [job(4)], remove: [1, 3] });
      await a.close();
      const b = s.again();
      assert.deepEqual((await replay(b)).map((j) => j.id), [2, 4]);
      await b.close();
    });
  });
}

describe("the sqlite store keeps workloads on disk", () => {
  test("a replay leaves workloads out, and each reads back by id, byte for byte; an unknown id reads as undefined", async () => {
    const p = join(dir(), "jobs.db");
    const a = new SqliteStore(p);
    await a.open();
    const big = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
    await a.commit({ add: [job(1, { data: big }), job(2, { data: new Uint8Array(0) })], remove: [] });
    await a.close();
    const b = new SqliteStore(p);
    const back = Array.from(await b.open());
    assert.deepEqual(back.map((j) => [j.id, j.data]), [[1, undefined], [2, undefined]]);
    assert.deepEqual(await b.payload(1), big);
    assert.deepEqual(await b.payload(2), new Uint8Array(0));
    assert.equal(await b.payload(3), undefined);
    await b.close();
  });

  test("a closed store's read rejects with STORE_UNAVAILABLE instead of throwing", async () => {
    const b = new SqliteStore(join(dir(), "jobs.db"));
    await b.open();
    await b.close();
    await assert.rejects(b.payload(1), (e: Error & { code?: string }) => e.code === "STORE_UNAVAILABLE");
  });

  test("a \"-\" unique's workload is replayed, since its digest is the job's coalescing key", async () => {
    const p = join(dir(), "jobs.db");
    const a = new SqliteStore(p);
    await a.open();
    await a.commit({
      add: [job(1, { unique: "-", data: new Uint8Array([7, 8]) }), job(2, { unique: "-", data: new Uint8Array(0) })],
      remove: [],
    });
    await a.close();
    const b = new SqliteStore(p);
    assert.deepEqual(Array.from(await b.open(), (j) => [j.unique, j.data]), [["-", new Uint8Array([7, 8])], ["-", new Uint8Array(0)]]);
    await b.close();
  });
});

describe("the sqlite store on bad files", () => {
  test("refuses a file that is not SQLite, saying so, and leaves it untouched", async () => {
    const p = join(dir(), "notes.db");
    writeFileSync(p, "these are my notes, not a database\n".repeat(200));
    await assert.rejects(
      new SqliteStore(p).open(),
      (e: Error & { code?: string }) => e.code === "STORE_CORRUPT" && /not a usable SQLite database/.test(e.message),
    );
  });

  test("refuses an SQLite file that belongs to something else", async () => {
    const p = join(dir(), "other.db");
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(p);
    db.exec("CREATE TABLE customers (id INTEGER)");
    db.close();
    await assert.rejects(
      new SqliteStore(p).open(),
      (e: Error & { code?: string }) => e.code === "STORE_CORRUPT" && /is not a gearbox store/.test(e.message),
    );
  });

  test("store URLs: sqlite:PATH, an explicit synchronous=NORMAL, and clear errors for the rest", () => {
    assert.equal(openStore("sqlite:/tmp/x.db").url, "sqlite:/tmp/x.db");
    assert.equal(openStore("sqlite:/tmp/x.db?synchronous=normal").url, "sqlite:/tmp/x.db");
    assert.throws(() => openStore("sqlite:"), /needs a file path/);
    assert.throws(() => openStore("sqlite:/tmp/x.db?synchronous=OFF"), /FULL or NORMAL/);
    assert.throws(() => openStore("redis://x"), /unsupported store URL/);
  });
});
