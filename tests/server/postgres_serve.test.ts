/**
 * `gearbox serve --store postgres://...` end to end, on a real PostgreSQL
 * (tests/helpers/postgres.ts): acknowledged background jobs come back after a
 * stop, and after SIGKILL of the real binary, each to a worker with its
 * handle and its bytes; a server whose database is down at start says so,
 * naming the store, and exits without ever listening.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet } from "../helpers/raw_conn.ts";
import { freePort } from "../helpers/free_port.ts";
import { sqlOn, testPostgres } from "../helpers/postgres.ts";
import { oldRows, schemaUpTo } from "../helpers/postgres_old_schema.ts";
import { captureLogger } from "../helpers/probe.ts";
import { storedJob } from "../helpers/stored_job.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { gearboxCommand, startGearbox } from "../helpers/servers.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));

/** The workload of job i: every byte value, NULs included, and one large one. */
function workload(i: number): Buffer {
  if (i === 7) return Buffer.from(Uint8Array.from({ length: 100_000 }, (_, k) => (k * 31 + i) % 256));
  return Buffer.from(Uint8Array.from({ length: 1 + (i % 300) }, (_, k) => (k + i) % 256));
}

/** Submits `n` background jobs pipelined on one connection; their handles once each is acknowledged. */
async function submit(port: number, n: number): Promise<string[]> {
  const c = await RawConn.connect(port);
  for (let i = 0; i < n; i++) {
    const cmd = [Cmd.SUBMIT_JOB_BG, Cmd.SUBMIT_JOB_HIGH_BG, Cmd.SUBMIT_JOB_LOW_BG][i % 3]!;
    c.sendPacket(cmd, "pg_fn", i % 4 === 0 ? "" : `u${i}`, workload(i));
  }
  const handles: string[] = [];
  for (let i = 0; i < n; i++) handles.push((await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1"));
  c.close();
  return handles;
}

/** A worker takes every queued job: handle to workload, each completed. */
async function takeAll(port: number, n: number): Promise<Map<string, Buffer>> {
  const w = await RawConn.connect(port);
  w.sendPacket(Cmd.CAN_DO, "pg_fn");
  const got = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) {
    w.sendPacket(Cmd.GRAB_JOB_UNIQ);
    const job = await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
    const handle = job.args[0]!;
    let at = 0;
    for (let k = 0; k < 3; k++) at = job.body.indexOf(0, at) + 1; // handle, function, unique: the rest is the workload
    got.set(handle, job.body.subarray(at));
    w.sendPacket(Cmd.WORK_COMPLETE, handle, "ok");
  }
  w.sendPacket(Cmd.GRAB_JOB);
  await w.expectPacket(Cmd.NO_JOB);
  w.close();
  return got;
}

/** Each acknowledged handle came once, with the bytes submitted for it. */
function assertEveryJob(handles: string[], got: Map<string, Buffer>): void {
  assert.deepEqual([...got.keys()].sort(), [...handles].sort(), "every acknowledged job, once");
  handles.forEach((h, i) => assert.ok(got.get(h)!.equals(workload(i)), `job ${h} (submission ${i}) came with other bytes`));
}

describe("gearbox serve on a PostgreSQL store", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("an in-process server's acknowledged background jobs survive a stop and a restart on the same database, bytes intact", async () => {
    const store = await newDatabase();
    const options = { port: 0, listen: "127.0.0.1", logLevel: "silent" as const, store, maxPayloadMemory: 0 };
    const first = createServer(options);
    await first.start();
    const handles = await submit(first.port, 300);
    await first.stop();
    const second = createServer(options);
    await second.start();
    try {
      const c = await RawConn.connect(second.port);
      assert.equal(await c.adminList("status"), "pg_fn\t300\t0\t0\n.\n");
      c.close();
      assertEveryJob(handles, await takeAll(second.port, 300));
    } finally {
      await second.stop();
    }
    const third = createServer(options);
    await third.start();
    try {
      const c = await RawConn.connect(third.port);
      assert.equal(await c.adminList("status"), ".\n", "completed jobs are gone from the database");
      c.close();
    } finally {
      await third.stop();
    }
  });

  test("a server on a database an older gearbox left logs the migration that rewrites its job table, then serves the old jobs", async () => {
    const store = await newDatabase();
    await schemaUpTo(store, 4);
    await sqlOn(store, "INSERT INTO gearbox_node (node, number) VALUES ('old', 1)");
    const old = [1, 2].map((n) => storedJob(2 ** 40 + n, { function: "pg_fn", handle: `H:old.b:${2 ** 40 + n}`, data: workload(n) }));
    await oldRows(store, "old", old);
    const { logger, lines } = captureLogger();
    const server = createServer({ port: 0, listen: "127.0.0.1", store, nodeId: "old", logger });
    await server.start();
    try {
      const said = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).includes("schema"));
      assert.deepEqual(said.map((l) => [l.msg, l.level]), [["migrating the store's schema", "info"], [
        "migrated the store's schema",
        "info",
      ]]);
      assert.deepEqual([said[0]!.from, said[0]!.to, said[1]!.version], [4, 5, 5]);
      const got = await takeAll(server.port, 2);
      assert.deepEqual([...got.keys()], old.map((j) => j.handle));
      old.forEach((j) => assert.ok(got.get(j.handle)!.equals(j.data!)));
    } finally {
      await server.stop();
    }
  });

  test("the reliable queue's state survives a restart: the dead set with exit status and failure log, a retry's count, replace_with's jobs; the admin backup names pg_dump", async () => {
    const store = await newDatabase();
    const options = { port: 0, listen: "127.0.0.1", logLevel: "silent" as const, store, maxRetries: 3, retryDelay: 3600 };
    const first = createServer(options);
    await first.start();
    const c = await RawConn.connect(first.port);
    const created = async (fn: string, unique: string) => {
      c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, unique, `data of ${unique}`);
      return (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
    };
    const [doomed, flaky, split] = [await created("doomed", "d-1"), await created("flaky", "f-1"), await created("split", "s-1")];
    const w = await RawConn.connect(first.port);
    w.sendPacket(Cmd.OPTION_REQ, "reliable");
    await w.expectPacket(Cmd.OPTION_RES);
    for (const fn of ["doomed", "flaky", "split"]) w.sendPacket(Cmd.CAN_DO, fn);
    const grabbed = new Set<string>();
    for (let i = 0; i < 3; i++) {
      w.sendPacket(Cmd.GRAB_JOB);
      grabbed.add((await w.expectPacket(Cmd.JOB_ASSIGN)).args[0]!);
    }
    assert.deepEqual([...grabbed].sort(), [doomed, flaky, split].sort());
    w.sendPacket(Cmd.WORK_PERMANENT_FAIL, doomed, "7", "no such customer");
    w.sendPacket(Cmd.WORK_FAIL, flaky);
    w.sendPacket(
      Cmd.WORK_REPLACE,
      split,
      Buffer.concat([packet(Cmd.SUBMIT_JOB_BG, "part", "p-1", "a"), packet(Cmd.SUBMIT_JOB_BG, "part", "p-2", "b")]),
    );
    const parts = (await w.expectPacket(Cmd.WORK_REPLACED)).args[1]!.split(" ");
    w.close();
    c.close();
    await first.stop();
    const second = createServer(options);
    await second.start();
    try {
      const a = await RawConn.connect(second.port);
      const show = await a.adminList(`job show ${doomed}`);
      assert.match(show, /^state\tfailed$/m);
      assert.match(show, /^exit_status\t7$/m);
      assert.match(show, /no such customer/);
      assert.match(await a.adminList(`job show ${flaky}`), /^retries\t1$/m);
      assert.equal(await a.adminLine(`job show ${split}`), "ERR UNKNOWN_JOB\r\n", "the replaced job is gone");
      assert.equal(await a.adminList("status"), "doomed\t0\t0\t0\nflaky\t1\t0\t0\npart\t2\t0\t0\n.\n");
      assert.match(await a.adminLine("store backup nightly.db"), /^ERR BACKUP_UNSUPPORTED .*pg_dump/, "PostgreSQL's tools back it up");
      const listed = (await a.adminList("job list function=part")).split("\n").filter((r) => r && r !== ".").map((r) => r.split("\t")[0]);
      assert.deepEqual(listed.sort(), [...parts].sort());
      a.close();
    } finally {
      await second.stop();
    }
  });

  test("the binary's acknowledged jobs survive SIGKILL and a restart of its node; a second server with the same node id is refused", async () => {
    const store = await newDatabase();
    const extra = ["--store", store, "--node-id", "pg-node"];
    const first = await startGearbox({ extra });
    let handles: string[];
    try {
      handles = await submit(first.port, 200);
    } finally {
      await first.stop("SIGKILL");
    }
    const second = await startGearbox({ extra });
    try {
      const [cmd, ...pre] = gearboxCommand();
      const twin = spawnSync(cmd!, [...pre, "serve", "--port", "0", "--store", store, "--node-id", "pg-node", "--log-level", "silent"], {
        encoding: "utf8",
        timeout: 15_000,
      });
      assert.equal(twin.status, 1, twin.stderr);
      assert.match(twin.stderr, /is in use by another gearbox serve/);
      assertEveryJob(handles, await takeAll(second.port, 200));
    } finally {
      await second.stop();
    }
  });

  test("with its database down at start, serve exits 1 naming the store and never listens", async () => {
    const dbPort = await freePort();
    const port = await freePort();
    const [cmd, ...pre] = gearboxCommand();
    const url = `postgres://gearbox:s3cret@127.0.0.1:${dbPort}/jobs?connect_timeout=2`;
    const r = spawnSync(cmd!, [...pre, "serve", "--port", String(port), "--store", url], { encoding: "utf8", timeout: 15_000 });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(`gearbox serve: cannot reach the PostgreSQL store postgres://gearbox:\\*\\*\\*@127\\.0\\.0\\.1:${dbPort}/jobs`),
    );
    assert.ok(!r.stderr.includes("s3cret"), r.stderr);
    const listening = spawnSync("sh", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0;
    assert.equal(listening, false, "nothing was acknowledged: the server never listened");
  });
});
