/**
 * Several servers on one PostgreSQL database (docs/cluster.md), on a real
 * PostgreSQL (tests/helpers/postgres.ts): a node whose heartbeat stopped has
 * its jobs adopted by a live node, once, whose worker gets each with its
 * bytes; two adopters racing for the same dead nodes take each job once; a
 * restarted node does not serve what was adopted meanwhile; a node cut off
 * past its lease stops; admin `nodes` shows the cluster. The servers run on
 * ManualClocks: their heartbeats and checks run when a test advances them.
 * A node's heartbeat is aged in the database (its time is the database's),
 * which is what a node that stopped heartbeating looks like to the others.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type GearboxServer } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { ManualClock } from "../../src/server/manual_clock.ts";
import type { StoredJob } from "../../src/store/job_store.ts";
import { openStore } from "../../src/store/open_store.ts";
import type { PostgresStore } from "../../src/store/postgres_store.ts";
import { ID_RANGE } from "../../src/store/postgres_nodes.ts";
import { sqlOn, testPostgres } from "../helpers/postgres.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { oldRows, schemaUpTo } from "../helpers/postgres_old_schema.ts";
import { waitUntil } from "../helpers/wait.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));
const LEASE_S = 10;

const sql = sqlOn;

/** What the others see of a node that stopped heartbeating a minute ago. */
const age = (url: string, node: string) =>
  sql(url, "UPDATE gearbox_node SET heartbeat_at = now() - interval '1 minute' WHERE node = $1", [node]);

function node(store: string, id: string): { server: GearboxServer; clock: ManualClock } {
  const clock = new ManualClock();
  const server = createServer({
    port: 0,
    listen: "127.0.0.1",
    logLevel: "silent",
    store,
    nodeId: id,
    nodeLease: LEASE_S,
    maxPayloadMemory: 0,
    clock,
  });
  return { server, clock };
}

/** The workload of job i: every byte value, and one large one. */
function workload(i: number): Buffer {
  if (i === 5) return Buffer.from(Uint8Array.from({ length: 70_000 }, (_, k) => (k * 7 + i) % 256));
  return Buffer.from(Uint8Array.from({ length: 1 + (i % 200) }, (_, k) => (k + i) % 256));
}

/** Submits `n` background jobs; their handles once acknowledged. */
async function submit(port: number, n: number, fn = "cl_fn"): Promise<string[]> {
  const c = await RawConn.connect(port);
  for (let i = 0; i < n; i++) c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, i % 3 === 0 ? "" : `u${i}`, workload(i));
  const handles: string[] = [];
  for (let i = 0; i < n; i++) handles.push((await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1"));
  c.close();
  return handles;
}

/** A worker takes every job there is: handle to workload, each completed; then NO_JOB. */
async function takeAll(w: RawConn, n: number): Promise<Map<string, Buffer>> {
  const got = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) {
    w.sendPacket(Cmd.GRAB_JOB_UNIQ);
    const job = await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
    const handle = job.args[0]!;
    let at = 0;
    for (let k = 0; k < 3; k++) at = job.body.indexOf(0, at) + 1;
    assert.ok(!got.has(handle), `job ${handle} assigned twice`);
    got.set(handle, job.body.subarray(at));
    w.sendPacket(Cmd.WORK_COMPLETE, handle, "ok");
  }
  w.sendPacket(Cmd.GRAB_JOB);
  await w.expectPacket(Cmd.NO_JOB);
  return got;
}

function stored(id: number, fn: string): StoredJob {
  return {
    id,
    handle: `H:t.boot:${id}`,
    function: fn,
    unique: `u${id}`,
    data: new Uint8Array([id & 0xff, 7]),
    reducer: "",
    priority: 1,
    runAt: 0,
    createdAt: 1000,
    retries: 0,
    failures: [],
    ended: undefined,
  };
}

/** Opens a PostgreSQL store as node `id`. */
async function storeAs(url: string, id: string): Promise<PostgresStore> {
  const store = openStore(url) as PostgresStore;
  store.join({ id });
  await store.open();
  return store;
}

describe("several gearbox nodes on one PostgreSQL database", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("a live node adopts every job of a node whose heartbeat stopped, once, wakes its sleeping worker, and serves each with its bytes", async () => {
    const store = await newDatabase();
    const a = node(store, "node-a");
    const b = node(store, "node-b");
    await a.server.start();
    await b.server.start();
    const w = await RawConn.connect(b.server.port);
    try {
      const handles = await submit(a.server.port, 120);
      await a.server.stop(); // its rows stay; it heartbeats no more
      w.sendPacket(Cmd.CAN_DO, "cl_fn");
      w.sendPacket(Cmd.GRAB_JOB);
      await w.expectPacket(Cmd.NO_JOB);
      w.sendPacket(Cmd.PRE_SLEEP);
      b.clock.advance(LEASE_S * 1000); // rounds run; node-a's heartbeat is fresh by the database's clock: nothing to adopt
      await b.server.clusterSettled();
      assert.equal((await sql(store, "SELECT count(*)::int AS n FROM gearbox_jobs WHERE node = 'node-a'"))[0]!.n, 120);
      await age(store, "node-a");
      b.clock.advance(LEASE_S * 1000);
      await b.server.clusterSettled();
      await w.expectPacket(Cmd.NOOP); // adoption woke the sleeping worker
      const got = await takeAll(w, 120);
      assert.deepEqual([...got.keys()].sort(), [...handles].sort(), "every acknowledged job, once, with its handle");
      handles.forEach((h, i) => assert.ok(got.get(h)!.equals(workload(i)), `job ${h} (submission ${i}) came with other bytes`));
      const [row] = await sql(store, "SELECT state, adopted_by FROM gearbox_node WHERE node = 'node-a'");
      assert.deepEqual(row, { state: "adopted", adopted_by: "node-b" });
    } finally {
      w.close();
      await b.server.stop();
      await a.server.stop();
    }
  });

  test("an adopted job that may have been running gets a 'node lost' entry in its failure log; one scheduled for later does not", async () => {
    const url = await newDatabase();
    const b = node(url, "node-b");
    const dead = await storeAs(url, "gone");
    const later = { ...stored(dead.ids.base + 2, "f"), runAt: b.clock.now() + 3_600_000 }; // by the adopter's clock
    await dead.commit({ add: [stored(dead.ids.base + 1, "f"), later], remove: [] });
    await dead.close();
    await age(url, "gone");
    await b.server.start();
    try {
      await b.server.clusterSettled();
      await waitUntil("the failure log written back", async () => {
        const rows = await sql(url, "SELECT id, failures FROM gearbox_jobs WHERE node = 'node-b' ORDER BY id");
        return rows.length === 2 && typeof rows[0]!.failures === "string" && rows[1]!.failures === null;
      });
      const [first] = await sql(url, "SELECT failures FROM gearbox_job WHERE id = $1", [dead.ids.base + 1]);
      assert.match(String(first!.failures), /node lost: node gone stopped heartbeating/);
      assert.equal(b.server.core.view.counters.get("adopted"), 2);
    } finally {
      await b.server.stop();
    }
  });

  test("a dead node's jobs past one slice are all adopted, a slice per turn of the event loop", async () => {
    const url = await newDatabase();
    const dead = await storeAs(url, "big");
    await dead.commit({ add: Array.from({ length: 12_345 }, (_, i) => stored(dead.ids.base + i + 1, "many")), remove: [] });
    await dead.close();
    await age(url, "big");
    const b = node(url, "node-b");
    await b.server.start();
    try {
      await b.server.clusterSettled();
      assert.equal(b.server.core.view.counters.get("adopted"), 12_345);
      const admin = await RawConn.connect(b.server.port);
      assert.equal(await admin.adminList("status"), "many\t12345\t0\t0\n.\n");
      admin.close();
    } finally {
      await b.server.stop();
    }
  });

  test("two nodes racing to adopt the same dead nodes adopt each node and each job exactly once", async () => {
    const url = await newDatabase();
    const x = await storeAs(url, "racer-x");
    const y = await storeAs(url, "racer-y");
    try {
      const all: number[] = [];
      for (let round = 0; round < 4; round++) {
        for (let d = 0; d < 4; d++) {
          const dead = await storeAs(url, `dead-${round}-${d}`);
          const jobs = Array.from({ length: d === 3 ? 0 : 250 }, (_, i) => stored(dead.ids.base + i + 1, `f${d}`)); // one held none
          await dead.commit({ add: jobs, remove: [] });
          all.push(...jobs.map((j) => j.id));
          await dead.close();
          await age(url, `dead-${round}-${d}`);
        }
        // Each store has one pool: many concurrent calls from each, so the two really overlap.
        const tries = await Promise.all([...Array(6)].flatMap(() => [x.adoptDead(LEASE_S * 1000), y.adoptDead(LEASE_S * 1000)]));
        const seen = new Map<number, number>();
        for (const adoptions of tries) for (const a of adoptions) for (const j of a.jobs) seen.set(j.id, (seen.get(j.id) ?? 0) + 1);
        const twice = [...seen].filter(([, n]) => n > 1);
        assert.deepEqual(twice, [], "no job adopted twice");
        const adopters = tries.flatMap((adoptions) => adoptions.map((a) => a.from)).sort();
        assert.deepEqual(adopters, [0, 1, 2, 3].map((d) => `dead-${round}-${d}`), "each dead node adopted once, the empty one too");
      }
      const owners = await sql(url, "SELECT id, node FROM gearbox_jobs ORDER BY id");
      assert.deepEqual(owners.map((r) => r.id).sort((p, q) => Number(p) - Number(q)), all.sort((p, q) => p - q));
      assert.ok(owners.every((r) => r.node === "racer-x" || r.node === "racer-y"), "every job owned by one adopter");
      const states = await sql(url, "SELECT count(*)::int AS n FROM gearbox_node WHERE node LIKE 'dead-%' AND state = 'adopted'");
      assert.equal(states[0]!.n, 16);
    } finally {
      await x.close();
      await y.close();
    }
  });

  test("a node restarted after its jobs were adopted does not serve them, and its new jobs take ids no other job has", async () => {
    const store = await newDatabase();
    const a = node(store, "node-a");
    const b = node(store, "node-b");
    await a.server.start();
    await b.server.start();
    try {
      const handles = await submit(a.server.port, 30);
      await a.server.stop();
      await age(store, "node-a");
      b.clock.advance(LEASE_S * 1000);
      await b.server.clusterSettled();
      assert.equal(b.server.core.view.counters.get("adopted"), 30);
      const again = node(store, "node-a");
      await again.server.start();
      try {
        const w = await RawConn.connect(again.server.port);
        w.sendPacket(Cmd.CAN_DO, "cl_fn");
        w.sendPacket(Cmd.GRAB_JOB);
        await w.expectPacket(Cmd.NO_JOB);
        w.close();
        const [fresh] = await submit(again.server.port, 1, "other_fn");
        const id = Number(fresh!.slice(fresh!.lastIndexOf(":") + 1));
        const ids = handles.map((h) => Number(h.slice(h.lastIndexOf(":") + 1)));
        assert.ok(id > Math.max(...ids), `a new id (${id}) after the adopted ones of its range (${Math.max(...ids)})`);
        const wb = await RawConn.connect(b.server.port);
        wb.sendPacket(Cmd.CAN_DO, "cl_fn");
        assert.equal((await takeAll(wb, 30)).size, 30, "node-b still serves them");
        wb.close();
      } finally {
        await again.server.stop();
      }
    } finally {
      await b.server.stop();
    }
  });

  test("a node cut off past its lease whose jobs were adopted stops instead of serving them twice", async () => {
    const store = await newDatabase();
    const a = node(store, "node-a");
    const b = node(store, "node-b");
    await a.server.start();
    await b.server.start();
    try {
      await submit(a.server.port, 5);
      await age(store, "node-a"); // as if node-a had not reached the database for a minute
      b.clock.advance(LEASE_S * 1000);
      await b.server.clusterSettled();
      a.clock.advance(LEASE_S * 1000); // node-a's next heartbeat finds its row adopted
      await a.server.clusterSettled();
      await a.server.done;
      assert.match(a.server.lost ?? "", /node node-a was found dead by another node .* and its jobs adopted; stopping/);
      assert.equal(b.server.core.view.counters.get("adopted"), 5);
    } finally {
      await b.server.stop();
      await a.server.stop();
    }
  });

  test("admin nodes lists every node with its address, heartbeat age, jobs owned and state", async () => {
    const store = await newDatabase();
    const a = node(store, "node-a");
    const b = node(store, "node-b");
    await a.server.start();
    await b.server.start();
    try {
      await submit(a.server.port, 3);
      const admin = await RawConn.connect(b.server.port);
      const rows = (await admin.adminList("nodes")).split("\n").filter((l) => l !== "" && l !== ".").map((l) => l.split("\t"));
      assert.deepEqual(rows.map((r) => [r[0], r[1], r[3], r[4]]), [
        ["node-a", `127.0.0.1:${a.server.port}`, "3", "live"],
        ["node-b", `127.0.0.1:${b.server.port}`, "0", "live"],
      ]);
      assert.ok(rows.every((r) => Number(r[2]) >= 0 && Number(r[2]) < 5), "heartbeat ages in seconds");
      await a.server.stop();
      await sql(store, "UPDATE gearbox_node SET heartbeat_at = now() - interval '30 seconds' WHERE node = 'node-a'");
      assert.match(await admin.adminList("nodes"), /^node-a\t127\.0\.0\.1:\d+\t3\d\.\d\t3\tdead\n/);
      b.clock.advance(LEASE_S * 1000);
      await b.server.clusterSettled();
      assert.match(
        await admin.adminList("nodes"),
        /^node-a\t127\.0\.0\.1:\d+\t3\d\.\d\t0\tadopted:node-b\nnode-b\t127\.0\.0\.1:\d+\t\d+\.\d\t3\tlive\n\.\n$/,
      );
      admin.close();
    } finally {
      await b.server.stop();
      await a.server.stop();
    }
  });

  test("admin nodes on a store that is not shared lists this server alone", async () => {
    const server = createServer({ port: 0, listen: "127.0.0.1", logLevel: "silent", store: "memory:", nodeId: "solo" });
    await server.start();
    try {
      const admin = await RawConn.connect(server.port);
      assert.equal(await admin.adminList("nodes"), `solo\t127.0.0.1:${server.port}\t0.0\t0\tlive\n.\n`);
      admin.close();
    } finally {
      await server.stop();
    }
  });

  test("the jobs of a one-server database from before nodes (migration 1) are adopted by the first node to start on it", async () => {
    const url = await newDatabase();
    // What the first PostgreSQL slice left: schema version 1, rows of node '', no node table.
    await schemaUpTo(url, 1);
    await oldRows(url, "", [stored(1, "legacy"), stored(2, "legacy")]);
    const b = node(url, "node-b");
    await b.server.start();
    try {
      await b.server.clusterSettled();
      assert.equal(b.server.core.view.counters.get("adopted"), 2);
      const [legacy] = await sql(url, "SELECT number, state, adopted_by FROM gearbox_node WHERE node = ''");
      assert.deepEqual(legacy, { number: 0, state: "adopted", adopted_by: "node-b" });
      const w = await RawConn.connect(b.server.port);
      w.sendPacket(Cmd.CAN_DO, "legacy");
      w.sendPacket(Cmd.GRAB_JOB);
      assert.equal((await w.expectPacket(Cmd.JOB_ASSIGN)).args[0], "H:t.boot:1");
      w.close();
    } finally {
      await b.server.stop();
    }
  });

  test("a node's ids are in its own range, so another node's adopted ids never meet its own", async () => {
    const url = await newDatabase();
    const x = await storeAs(url, "range-x");
    const y = await storeAs(url, "range-y");
    try {
      assert.notEqual(x.ids.base, y.ids.base);
      assert.equal(Math.abs(x.ids.base - y.ids.base) % ID_RANGE, 0);
      assert.ok(Math.max(x.ids.base, y.ids.base) + ID_RANGE <= 2 ** 53);
    } finally {
      await x.close();
      await y.close();
    }
  });
});
