/**
 * Three real `gearbox serve` processes on one PostgreSQL database
 * (tests/helpers/postgres.ts), under load, one SIGKILLed: every job any node
 * acknowledged completes on the other two within `node_lease` + 5 s of the
 * kill (issue 14, docs/cluster.md §3); and a node paused (SIGSTOP) past its
 * lease exits 1 when it resumes, its jobs served by the node that adopted
 * them (docs/cluster.md §4). Real processes and real time: the
 * lease runs on each binary's own clock, which a test cannot advance.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { testPostgres } from "../helpers/postgres.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { type RunningServer, startGearbox } from "../helpers/servers.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));
const LEASE_S = 2;
const PER_NODE = 1500;

/** Submits `n` background jobs pipelined in batches of 50, naming each `token(i)`; the tokens acknowledged, until the node goes away. */
async function load(port: number, n: number, token: (i: number) => string, acked: Set<string>): Promise<void> {
  const c = await RawConn.connect(port);
  try {
    for (let i = 0; i < n; i += 50) {
      const batch = Array.from({ length: Math.min(50, n - i) }, (_, k) => token(i + k));
      for (const t of batch) c.sendPacket(Cmd.SUBMIT_JOB_BG, "failover_fn", t, t);
      for (const t of batch) {
        await c.expectPacket(Cmd.JOB_CREATED, 5000);
        acked.add(t); // JOB_CREATED comes in submission order on one connection
      }
      await sleep(10); // paced, so the kill lands while every node is still taking jobs
    }
  } catch {
    // the killed node: what it acknowledged before is in `acked`
  } finally {
    c.close();
  }
}

describe("gearbox nodes as real processes on one PostgreSQL database", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test(
    "three nodes under load, one SIGKILLed: every job any node acknowledged completes on the others within node_lease + 5 s of the kill",
    { timeout: 90_000 },
    async () => {
      const store = await newDatabase();
      const nodes: RunningServer[] = [];
      const workers: Worker<string>[] = [];
      try {
        for (const id of ["n1", "n2", "n3"]) {
          nodes.push(await startGearbox({ extra: ["--store", store, "--node-id", id, "--node-lease", String(LEASE_S)] }));
        }
        const done = new Set<string>();
        const servers = nodes.map((n) => `127.0.0.1:${n.port}`);
        for (let w = 0; w < 3; w++) {
          const worker = new Worker<string>({ servers, reconnectMinMs: 50, reconnectMaxMs: 500, onError: () => {} });
          worker.register("failover_fn", (job) => {
            done.add(job.data);
          });
          void worker.work();
          workers.push(worker);
        }
        const acked = new Set<string>();
        const loads = nodes.map((n, k) => load(n.port, PER_NODE, (i) => `n${k + 1}-${i}`, acked));
        await waitUntil(
          "node n2 acknowledged a third of its jobs",
          () => [...acked].filter((t) => t.startsWith("n2-")).length >= PER_NODE / 3,
          20_000,
        );
        await nodes[1]!.stop("SIGKILL");
        const killedAt = Date.now();
        const stranded = [...acked].filter((t) => t.startsWith("n2-") && !done.has(t)).length;
        await Promise.all(loads);
        const fromN2 = [...acked].filter((t) => t.startsWith("n2-")).length;
        assert.ok(fromN2 >= PER_NODE / 3 && fromN2 < PER_NODE, `n2 was killed under load (${fromN2} of its jobs acknowledged)`);
        await waitUntil(
          "every acknowledged job completed",
          () => {
            const missing = [...acked].filter((t) => !done.has(t));
            return missing.length === 0 || `${missing.length} missing, e.g. ${missing.slice(0, 3).join(", ")}`;
          },
          (LEASE_S + 5) * 1000 - (Date.now() - killedAt),
          20,
        );
        const seconds = (Date.now() - killedAt) / 1000;
        assert.ok(seconds <= LEASE_S + 5, `done ${seconds.toFixed(1)} s after the kill`);
        assert.ok(stranded > 0, "the kill left acknowledged jobs on n2 that only an adoption could complete");
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
        for (const n of nodes) await n.stop();
      }
    },
  );

  test("a node paused past its lease (SIGSTOP) finds its jobs adopted when it resumes and exits 1 saying so; the adopter serves them", {
    timeout: 60_000,
  }, async () => {
    const store = await newDatabase();
    const args = (id: string) => ["--store", store, "--node-id", id, "--node-lease", "1"];
    const paused = await startGearbox({ extra: args("paused") });
    let adopter: RunningServer | undefined;
    try {
      const acked = new Set<string>();
      await load(paused.port, 20, (i) => `p-${i}`, acked);
      assert.equal(acked.size, 20);
      paused.process.kill("SIGSTOP");
      adopter = await startGearbox({ extra: args("adopter") });
      const done = new Set<string>();
      const worker = new Worker<string>({ servers: [`127.0.0.1:${adopter.port}`] });
      worker.register("failover_fn", (job) => {
        done.add(job.data);
      });
      void worker.work();
      try {
        await waitUntil("the adopter served the paused node's jobs", () => done.size === 20 || `${done.size} of 20`, 10_000);
      } finally {
        await worker.stop();
      }
      const exited = new Promise<number | null>((resolve) => paused.process.once("exit", (code) => resolve(code)));
      paused.process.kill("SIGCONT");
      assert.equal(await exited, 1);
      assert.match(paused.stderr(), /gearbox serve: node paused was found dead by another node .* stopping so as not to serve them twice/);
    } finally {
      paused.process.kill("SIGCONT");
      await adopter?.stop();
      await paused.stop();
    }
  });
});
