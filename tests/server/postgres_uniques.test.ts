/**
 * Cluster-wide uniques on a real PostgreSQL (docs/cluster.md §7): a
 * background submission whose function and unique are live on another node
 * gets that node's handle, and the table holds one row; nodes submitting the
 * same unique at once make one job; a conflicting job never fails the other
 * jobs of its commit; a `job retry` meets the index without failing; a
 * database with twins from before migration 3 migrates and keeps them.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type GearboxServer } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { ManualClock } from "../../src/server/manual_clock.ts";
import { openStore } from "../../src/store/open_store.ts";
import type { PostgresStore } from "../../src/store/postgres_store.ts";
import { PG_MIGRATIONS } from "../../src/store/postgres_schema.ts";
import { sqlOn, testPostgres } from "../helpers/postgres.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { storedJob } from "../helpers/stored_job.ts";
import { waitUntil } from "../helpers/wait.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));

const sql = sqlOn;

async function startNode(store: string, id: string): Promise<GearboxServer> {
  const server = createServer({ port: 0, listen: "127.0.0.1", logLevel: "silent", store, nodeId: id, clock: new ManualClock() });
  await server.start();
  return server;
}

async function submitBg(port: number, fn: string, unique: string, data = "x"): Promise<string> {
  const c = await RawConn.connect(port);
  try {
    c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, unique, data);
    return (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
  } finally {
    c.close();
  }
}

async function storeAs(url: string, id: string): Promise<PostgresStore> {
  const store = openStore(url) as PostgresStore;
  store.join({ id });
  await store.open();
  return store;
}

const rows = (url: string, fn: string) => sql(url, "SELECT node, handle, outcome FROM gearbox_jobs WHERE function = $1 ORDER BY id", [fn]);

describe("the unique index's limit on names", () => {
  test("a server on PostgreSQL refuses max_function_name and max_unique whose longest pair its unique index cannot hold", () => {
    const store = "postgres://gearbox@127.0.0.1:1/nowhere"; // never reached: the settings are refused first
    assert.throws(
      () => createServer({ port: 0, logLevel: "silent", store, maxUnique: 1000 }),
      /max_function_name \(512\) \+ max_unique \(1000\) is too large for the store postgres:\/\/gearbox@127\.0\.0\.1:1\/nowhere: at most 1300 bytes/,
    );
    assert.doesNotThrow(() => createServer({ port: 0, logLevel: "silent", store, maxUnique: 700, maxFunctionName: 600 }));
    assert.doesNotThrow(() => createServer({ port: 0, logLevel: "silent", maxUnique: 65535, maxFunctionName: 65535, store: "memory:" }));
  });
});

describe("uniques across the nodes of one PostgreSQL database", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("a background job submitted to node B with a unique live on node A gets A's handle, one row; once it completed, a new one is made", async () => {
    const url = await newDatabase();
    const a = await startNode(url, "a"), b = await startNode(url, "b");
    try {
      const h = await submitBg(a.port, "uf", "same");
      assert.equal(await submitBg(b.port, "uf", "same", "other bytes"), h);
      assert.deepEqual((await rows(url, "uf")).map((r) => r.handle), [h]);
      assert.equal(b.core.view.jobs.size, 0, "B keeps nothing");
      const w = await RawConn.connect(a.port);
      w.sendPacket(Cmd.CAN_DO, "uf");
      w.sendPacket(Cmd.GRAB_JOB);
      assert.equal((await w.expectPacket(Cmd.JOB_ASSIGN)).args[0], h);
      w.sendPacket(Cmd.WORK_COMPLETE, h, "done");
      w.sendPacket(Cmd.ECHO_REQ, "", "sync");
      await w.expectPacket(Cmd.ECHO_RES);
      w.close();
      await waitUntil("the completed job's row is deleted", async () => (await rows(url, "uf")).length === 0);
      const again = await submitBg(b.port, "uf", "same");
      assert.notEqual(again, h);
      assert.deepEqual((await rows(url, "uf")).map((r) => r.handle), [again]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("two nodes submitting the same unique at the same moment make exactly one job, round after round; '-' uniques coalesce by workload", async () => {
    const url = await newDatabase();
    const a = await startNode(url, "a"), b = await startNode(url, "b");
    const ca = await RawConn.connect(a.port), cb = await RawConn.connect(b.port);
    try {
      for (let round = 0; round < 40; round++) {
        ca.sendPacket(Cmd.SUBMIT_JOB_BG, "race", `r${round}`, "x");
        cb.sendPacket(Cmd.SUBMIT_JOB_BG, "race", `r${round}`, "y");
        const [ha, hb] = await Promise.all([ca.expectPacket(Cmd.JOB_CREATED), cb.expectPacket(Cmd.JOB_CREATED)]);
        assert.equal(ha.body.toString("latin1"), hb.body.toString("latin1"), `round ${round}`);
      }
      const [{ n }] = (await sql(url, "SELECT count(*)::integer AS n FROM gearbox_jobs WHERE function = 'race'")) as [{ n: number }];
      assert.equal(n, 40);
      const d1 = await submitBg(a.port, "dash", "-", "same workload");
      assert.equal(await submitBg(b.port, "dash", "-", "same workload"), d1);
      assert.notEqual(await submitBg(b.port, "dash", "-", "another workload"), d1);
      assert.equal((await rows(url, "dash")).length, 2);
    } finally {
      ca.close();
      cb.close();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("a commit whose job meets a live unique still commits its fresh jobs, and reports the live job's handle", async () => {
    const url = await newDatabase();
    const a = await storeAs(url, "a"), b = await storeAs(url, "b");
    try {
      const ra = a.ids.base, rb = b.ids.base;
      await a.commit({ add: [storedJob(ra + 1, { function: "mix", unique: "taken" })], remove: [] });
      const result = await b.commit({
        add: [
          storedJob(rb + 1, { function: "mix", unique: "fresh1" }),
          storedJob(rb + 2, { function: "mix", unique: "taken" }),
          storedJob(rb + 3, { function: "mix", unique: "" }),
          storedJob(rb + 4, { function: "mix", unique: "fresh2" }),
        ],
        remove: [],
      });
      assert.deepEqual([...(result?.coalesced ?? [])], [[rb + 2, `H:t.boot:${ra + 1}`]]);
      const ids = (await sql(url, "SELECT id FROM gearbox_jobs WHERE node = 'b' ORDER BY id")).map((r) => Number(r.id));
      assert.deepEqual(ids, [rb + 1, rb + 3, rb + 4]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("a commit that also deletes rows undoes only its COPY when a new job meets a live unique, and a key its own delete frees is taken", async () => {
    const url = await newDatabase();
    const a = await storeAs(url, "a"), b = await storeAs(url, "b");
    try {
      const ra = a.ids.base, rb = b.ids.base;
      await a.commit({ add: [storedJob(ra + 1, { function: "mix", unique: "taken" })], remove: [] });
      await b.commit({
        add: [storedJob(rb + 1, { function: "mix", unique: "again" }), storedJob(rb + 2, { function: "mix" })],
        remove: [],
      });
      // One batch: rb+1 completes (deleted) and its unique is submitted again; rb+2 completes; one job meets a's live unique.
      const result = await b.commit({
        add: [
          storedJob(rb + 3, { function: "mix", unique: "again" }),
          storedJob(rb + 4, { function: "mix", unique: "taken" }),
          storedJob(rb + 5, { function: "mix", unique: "fresh" }),
        ],
        remove: [rb + 1, rb + 2],
      });
      assert.deepEqual([...(result?.coalesced ?? [])], [[rb + 4, `H:t.boot:${ra + 1}`]]);
      const left = await sql(url, "SELECT id, uniq FROM gearbox_jobs WHERE node = 'b' ORDER BY id");
      assert.deepEqual(left.map((r) => [Number(r.id), r.uniq]), [[rb + 3, "again"], [rb + 5, "fresh"]]);
      // Without a conflict the same kind of batch is one COPY that stays.
      const clean = await b.commit({ add: [storedJob(rb + 6, { function: "mix", unique: "other" })], remove: [rb + 5] });
      assert.equal(clean, undefined);
      assert.deepEqual((await sql(url, "SELECT id FROM gearbox_jobs WHERE node = 'b' ORDER BY id")).map((r) => Number(r.id)), [
        rb + 3,
        rb + 6,
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("a job retry whose unique is live on another node leaves the row ended and reports that node's job, without failing the commit", async () => {
    const url = await newDatabase();
    const a = await storeAs(url, "a"), b = await storeAs(url, "b");
    try {
      const ra = a.ids.base, rb = b.ids.base;
      const failed = { outcome: "failed" as const, exitStatus: 1, at: 1, deleteAfter: 9e12 };
      const dead = storedJob(rb + 1, { function: "rt", unique: "again", ended: failed });
      const other = storedJob(rb + 2, { function: "rt", unique: "free", ended: failed });
      await b.commit({ add: [dead, other], remove: [] });
      await a.commit({ add: [storedJob(ra + 1, { function: "rt", unique: "again" })], remove: [] });
      const result = await b.commit({ add: [], update: [{ ...dead, ended: undefined }, { ...other, ended: undefined }], remove: [] });
      assert.deepEqual([...(result?.coalesced ?? [])], [[rb + 1, `H:t.boot:${ra + 1}`]]);
      const outcome = (await sql(url, "SELECT id, outcome FROM gearbox_jobs WHERE node = 'b' ORDER BY id")).map((r) => r.outcome);
      assert.deepEqual(outcome, ["failed", null], "the free one is live again");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("a database from before migration 3 holding live twins migrates, keeps both and refuses a third", async () => {
    const url = await newDatabase();
    await sql(url, "CREATE TABLE gearbox_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    for (const [v, m] of PG_MIGRATIONS.slice(0, 2).entries()) {
      for (const statement of ([] as string[]).concat(m)) await sql(url, statement);
      await sql(url, "INSERT INTO gearbox_schema_version (version) VALUES ($1)", [v + 1]);
    }
    for (const [id, node] of [[1, ""], [2, ""]] as const) {
      await sql(
        url,
        `INSERT INTO gearbox_job (node, id, handle, function, uniq, data, priority, created_at) VALUES ($1, $2, $3, 'tw', 'twin', '\\x01', 1, $2)`,
        [node, id, `H:old:${id}`],
      );
    }
    const store = await storeAs(url, "c");
    try {
      const twins = await sql(url, "SELECT id, uniq_twin FROM gearbox_job ORDER BY id");
      assert.deepEqual(twins.map((r) => r.uniq_twin), [false, true], "the later twin is marked, both kept");
      const result = await store.commit({ add: [storedJob(store.ids.base + 1, { function: "tw", unique: "twin" })], remove: [] });
      assert.deepEqual([...(result?.coalesced ?? [])], [[store.ids.base + 1, "H:old:1"]]);
    } finally {
      await store.close();
    }
  });
});
