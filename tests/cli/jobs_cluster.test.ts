/**
 * `gearbox jobs` with several `-s` servers: the real command against two
 * in-process nodes on one real PostgreSQL (tests/helpers/postgres.ts) and
 * against two plain servers. Listings are merged, a handle reaches the node
 * that owns it, retry --all and purge count over every server, a server that
 * does not answer is named while the others are still shown (exit 2), and a
 * dead node's jobs show once adopted. The command is run without blocking:
 * the servers it asks live in this process.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type GearboxServer } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { ManualClock } from "../../src/server/manual_clock.ts";
import { freePort } from "../helpers/free_port.ts";
import { sqlOn, testPostgres } from "../helpers/postgres.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { gearboxCommand } from "../helpers/servers.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const LEASE_S = 10;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `gearbox jobs ARGS -s S...` as a child process, awaited without blocking this process's servers. */
function jobs(servers: string[], ...args: string[]): Promise<Run> {
  const [cmd, ...pre] = gearboxCommand();
  const full = [...pre, "jobs", ...args, ...servers.flatMap((s) => ["-s", s]), "--timeout", "3000"];
  return new Promise((resolve) => {
    execFile(cmd!, full, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === "number" ? err.code : null) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

function server(store: string, nodeId?: string): { server: GearboxServer; clock: ManualClock; address: () => string } {
  const clock = new ManualClock();
  const s = createServer({
    port: 0,
    listen: "127.0.0.1",
    logLevel: "silent",
    store,
    clock,
    ...(nodeId ? { nodeId, nodeLease: LEASE_S } : {}),
  });
  return { server: s, clock, address: () => `127.0.0.1:${s.port}` };
}

/** Two started nodes, `node-a` and `node-b`, on a fresh database. */
async function twoNodes(): Promise<{ store: string; a: ReturnType<typeof server>; b: ReturnType<typeof server> }> {
  if (!postgres.ok) throw new Error(postgres.skip);
  const store = await postgres.pg.createDatabase();
  const a = server(store, "node-a");
  const b = server(store, "node-b");
  await a.server.start();
  await b.server.start();
  return { store, a, b };
}

/** Background jobs of `fn` submitted to `port`: their handles, in order. */
async function submit(port: number, fn: string, uniques: string[]): Promise<string[]> {
  const c = await RawConn.connect(port);
  const handles: string[] = [];
  for (const u of uniques) {
    c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, u, "x");
    handles.push((await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1"));
  }
  c.close();
  return handles;
}

/** A worker on `port` takes the next job of `fn` and fails it: with the default policy it goes to the dead set. */
async function fail(port: number, fn: string, handle: string): Promise<void> {
  const w = await RawConn.connect(port);
  w.sendPacket(Cmd.CAN_DO, fn);
  w.sendPacket(Cmd.GRAB_JOB);
  assert.equal((await w.expectPacket(Cmd.JOB_ASSIGN)).args[0], handle);
  w.sendPacket(Cmd.WORK_EXCEPTION, handle, "disk on fire");
  w.sendPacket(Cmd.ECHO_REQ, "sync");
  await w.expectPacket(Cmd.ECHO_RES);
  w.close();
}

const handlesOf = (run: Run) => JSON.parse(run.stdout).map((r: { handle: string }) => r.handle);

describe("gearbox jobs against two nodes of one PostgreSQL database", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("lists both nodes' jobs merged, shows, retries and cancels a job on the node that owns it, and purges over both", {
    timeout: 60_000,
  }, async () => {
    const { a, b } = await twoNodes();
    try {
      const onA = await submit(a.server.port, "cl_resize", ["a1", "a2"]);
      const onB = await submit(b.server.port, "cl_resize", ["b1"]);
      await fail(b.server.port, "cl_resize", onB[0]!);
      const both = [a.address(), b.address()];

      const listed = await jobs(both, "list", "--json");
      assert.equal(listed.status, 0, listed.stderr);
      const rows = JSON.parse(listed.stdout) as { server: string; handle: string; state: string; unique: string }[];
      assert.deepEqual(
        rows.map((r) => [r.server, r.handle, r.state, r.unique]).sort(),
        [
          [a.address(), onA[0], "queued", "a1"],
          [a.address(), onA[1], "queued", "a2"],
          [b.address(), onB[0], "failed", "b1"],
        ].sort(),
      );
      const limited = await jobs(both, "list", "--json", "--limit", "2");
      // Jobs made in the same millisecond on two nodes have no order but their handles': compare with the merged listing.
      assert.deepEqual(handlesOf(limited), rows.slice(0, 2).map((r) => r.handle), "the merged listing, cut to --limit over both");
      const tableRun = await jobs(both, "list");
      assert.match(tableRun.stdout, /SERVER.*HANDLE.*FUNCTION/);
      assert.match(tableRun.stdout, new RegExp(`${b.address()}.*${onB[0]!.replaceAll(".", "\\.")}.*failed`));

      const shown = await jobs(both, "show", onB[0]!, "--json");
      assert.equal(shown.status, 0, shown.stderr);
      const job = JSON.parse(shown.stdout);
      assert.deepEqual([job.server, job.state, job.failures.map((f: { message: string }) => f.message)], [
        b.address(),
        "failed",
        ["disk on fire"],
      ]);

      const notFailed = await jobs(both, "retry", onA[0]!);
      assert.deepEqual([notFailed.status, notFailed.stderr.trim()], [
        1,
        `gearbox jobs: ${a.address()}: NOT_FAILED: only failed jobs can be retried`,
      ]);
      const retried = await jobs(both, "retry", onB[0]!);
      assert.deepEqual([retried.status, retried.stdout.trim()], [0, "retried 1 job"], retried.stderr);

      const unknown = await jobs(both, "show", "H:nowhere.1:7");
      assert.deepEqual([unknown.status, unknown.stderr.trim()], [1, "gearbox jobs: UNKNOWN_JOB: none of the 2 servers has this job"]);

      const cancelled = await jobs(both, "cancel", onA[1]!);
      assert.deepEqual([cancelled.status, cancelled.stdout.trim()], [0, "cancelled 1 job"], cancelled.stderr);

      const purged = await jobs(both, "purge", "cl_resize", "--json");
      assert.equal(purged.status, 0, purged.stderr);
      assert.deepEqual(JSON.parse(purged.stdout), { purged: 2, servers: { [a.address()]: 1, [b.address()]: 1 } });
      assert.deepEqual(JSON.parse((await jobs(both, "list", "--json")).stdout), []);
    } finally {
      await b.server.stop();
      await a.server.stop();
    }
  });

  test("names a node that does not answer and still lists the other (exit 2); a dead node's jobs are named until adopted, then listed", {
    timeout: 60_000,
  }, async () => {
    const { store, a, b } = await twoNodes();
    try {
      const onA = await submit(a.server.port, "cl_mail", ["m1", "m2"]);
      const onB = await submit(b.server.port, "cl_mail", ["m3"]);
      const gone = a.address();
      await a.server.stop(); // its rows stay, its heartbeat stops

      const partial = await jobs([gone, b.address()], "list", "--json");
      assert.equal(partial.status, 2, "a server that does not answer: exit 2");
      assert.deepEqual(handlesOf(partial), onB, "the node that answers is still listed, as valid JSON");
      assert.match(partial.stderr, new RegExp(`^gearbox jobs: ${gone.replaceAll(".", "\\.")}: `, "m"));

      const owned = await jobs([gone, b.address()], "show", onB[0]!, "--json");
      assert.equal(owned.status, 0, "the owner answered: the node that did not is no matter");
      const lost = await jobs([gone, b.address()], "show", onA[0]!);
      assert.equal(lost.status, 2, "the job may be on the node that did not answer");

      await sqlOn(store, "UPDATE gearbox_node SET heartbeat_at = now() - interval '1 minute' WHERE node = 'node-a'");
      const dead = await jobs([b.address()], "list", "--json");
      assert.equal(dead.status, 0, dead.stderr);
      assert.deepEqual(handlesOf(dead), onB);
      assert.equal(
        dead.stderr.trim(),
        "gearbox jobs: node node-a is dead and not yet adopted: its 2 jobs are listed once a live node adopts them",
      );

      b.clock.advance(LEASE_S * 1000);
      await b.server.clusterSettled();
      const adopted = await jobs([b.address()], "list", "--json");
      assert.deepEqual([adopted.status, adopted.stderr], [0, ""]);
      assert.deepEqual(handlesOf(adopted).sort(), [...onA, ...onB].sort(), "node-b lists node-a's jobs with their handles");
    } finally {
      await b.server.stop();
      await a.server.stop();
    }
  });
});

describe("gearbox jobs against two plain servers", () => {
  test("merges two memory servers' listings, retries --all and purges on each, and names a port with no server", {
    timeout: 60_000,
  }, async () => {
    const a = server("memory:");
    const b = server("memory:");
    await a.server.start();
    await b.server.start();
    try {
      const [deadA] = await submit(a.server.port, "pl_fn", ["x"]);
      const [deadB] = await submit(b.server.port, "pl_fn", ["y"]);
      await fail(a.server.port, "pl_fn", deadA!);
      await fail(b.server.port, "pl_fn", deadB!);
      const both = [a.address(), b.address()];
      const failed = await jobs(both, "list", "--state", "failed", "--json");
      assert.equal(failed.status, 0, failed.stderr);
      assert.deepEqual(handlesOf(failed).sort(), [deadA, deadB].sort());
      const retried = await jobs(both, "retry", "--all", "--function", "pl_fn");
      assert.deepEqual([retried.status, retried.stdout.trim()], [0, "retried 2 jobs"], retried.stderr);
      const nobody = `127.0.0.1:${await freePort()}`;
      const purged = await jobs([...both, nobody], "purge", "pl_fn");
      assert.deepEqual([purged.status, purged.stdout.trim()], [2, "purged 2 jobs"], "the servers that answered are counted");
      assert.match(purged.stderr, new RegExp(`gearbox jobs: ${nobody.replaceAll(".", "\\.")}: `));
      assert.equal((await jobs(both, "list")).stdout.trim(), "no jobs");
    } finally {
      await b.server.stop();
      await a.server.stop();
    }
  });
});
