/**
 * The database stopped while gearbox runs (docs/cluster.md §6), on the real
 * throwaway PostgreSQL of tests/helpers/postgres.ts, stopped with `pg_ctl
 * stop -m fast` and started again: under load, submissions during the
 * outage are answered ERROR and never JOB_CREATED, workers go on completing
 * what the server holds, every acknowledged job completes after the
 * recovery and its row is deleted (completions of the outage were kept and
 * retried), and the log says "unreachable" once and "reachable again" once.
 * Then the node's advisory lock across a restart: taken again by the node,
 * or, when another process with its node id took it first, the node stops.
 * Each test that stops the shared cluster starts it again in a `finally`.
 * Last, a partition (the tcp_forward.ts forwarder closed, not a restart): a
 * grab of a job whose workload is in the database gets NO_JOB and the job
 * waits, not failed, until the database answers.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { createServer } from "../../mod.ts";
import { Logger } from "../../src/log/logger.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { ManualClock } from "../../src/server/manual_clock.ts";
import { openStore } from "../../src/store/open_store.ts";
import { NO_RESTART, sqlOn, testPostgres } from "../helpers/postgres.ts";
import { packetSocket } from "../helpers/packet_socket.ts";
import { freePort } from "../helpers/free_port.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { forward } from "../helpers/tcp_forward.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const postgres = await testPostgres();
const restart = postgres.ok ? postgres.pg.restart : undefined;
const skip = postgres.ok ? undefined : postgres.skip;
/** The tests that stop the database need a throwaway cluster of this process. */
const restartSkip = skip ?? (restart ? undefined : NO_RESTART);
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));

/** How long the test keeps the database stopped. */
const OUTAGE_MS = 10_000;

/** What the load saw: acknowledged handles (with when), refusals (with when), completed handles. */
interface Load {
  acked: Map<string, number>;
  refused: number[];
  completed: Set<string>;
  /** No more submissions (the workers go on). */
  stopSubmitting(): void;
  stop(): void;
}

/** `submitters` connections pipelining 20 background jobs at a time, and `workers` completing them. */
function load(port: number, submitters: number, workers: number): Load {
  const seen: Load = { acked: new Map(), refused: [], completed: new Set(), stopSubmitting: () => {}, stop: () => {} };
  const sockets: Socket[] = [];
  let running = true;
  for (let k = 0; k < submitters; k++) {
    let inFlight = 0;
    let n = 0;
    const send = () => {
      if (!running) return;
      const batch = [];
      for (let i = 0; i < 20; i++) batch.push(packet(Cmd.SUBMIT_JOB_BG, "outage_fn", "", `s${k}-${n++}`));
      inFlight = 20;
      s.write(Buffer.concat(batch));
    };
    const s = packetSocket(port, (code, args) => {
      if (code === Cmd.JOB_CREATED) seen.acked.set(args[0]!, Date.now());
      else if (code === Cmd.ERROR) seen.refused.push(Date.now());
      else return;
      if (--inFlight === 0) setTimeout(send, 5); // paced: an outage answers at once
    });
    s.once("connect", send);
    sockets.push(s);
  }
  for (let k = 0; k < workers; k++) {
    const s = packetSocket(port, (code, args) => {
      if (code === Cmd.JOB_ASSIGN_UNIQ) {
        // 5 ms a job: slower than the submitters, so the server holds a backlog when the database stops.
        setTimeout(() => {
          seen.completed.add(args[0]!);
          s.write(Buffer.concat([packet(Cmd.WORK_COMPLETE, args[0]!, "ok"), packet(Cmd.GRAB_JOB_UNIQ)]));
        }, 5);
      } else if (code === Cmd.NO_JOB) s.write(packet(Cmd.PRE_SLEEP));
      else if (code === Cmd.NOOP) s.write(packet(Cmd.GRAB_JOB_UNIQ));
    });
    s.once("connect", () => s.write(Buffer.concat([packet(Cmd.CAN_DO, "outage_fn"), packet(Cmd.GRAB_JOB_UNIQ)])));
    sockets.push(s);
  }
  seen.stopSubmitting = () => void (running = false);
  seen.stop = () => {
    running = false;
    for (const s of sockets) s.destroy();
  };
  return seen;
}

async function count(url: string, text: string): Promise<number> {
  return Number((await sqlOn(url, text))[0]!.n);
}

/** A store opened as node `id`, as a second `gearbox serve --node-id id` would. */
function rival(url: string, id: string) {
  const store = openStore(url);
  store.cluster!.join({ id });
  return store;
}

describe("the PostgreSQL database stopped and started again while gearbox runs", { skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test(
    `stopped for ${
      OUTAGE_MS / 1000
    } s under load: submissions refused with ERROR meanwhile, no acknowledged job lost, completions of the outage kept, one log line each way`,
    {
      timeout: 90_000,
      skip: restartSkip,
    },
    async () => {
      const url = await newDatabase();
      const lines: Record<string, unknown>[] = [];
      const logger = new Logger({ level: "warn", format: "json", write: (l) => lines.push(JSON.parse(l)) });
      const server = createServer({ port: 0, listen: "127.0.0.1", store: url, nodeId: "outage", logger });
      await server.start();
      const seen = load(server.port, 2, 2);
      let stoppedAt = 0, startingAt = 0;
      try {
        await waitUntil("the load running", () => seen.completed.size > 200, 10_000);
        await restart!.stop();
        stoppedAt = Date.now();
        const completedBefore = seen.completed.size;
        await sleep(OUTAGE_MS); // the outage: a wait on PostgreSQL, which the server does not own
        assert.ok(seen.completed.size > completedBefore, "workers went on completing the jobs the server holds");
      } finally {
        startingAt = Date.now();
        await restart!.start();
      }
      const ackedBefore = seen.acked.size;
      await waitUntil("submissions acknowledged again", () => seen.acked.size > ackedBefore + 200, 20_000);
      const createdInOutage = [...seen.acked.values()].filter((t) => t > stoppedAt + 500 && t < startingAt);
      assert.deepEqual(createdInOutage, [], "no JOB_CREATED while the database was stopped");
      assert.ok(seen.refused.filter((t) => t > stoppedAt && t < startingAt).length > 0, "submissions of the outage got ERROR");
      seen.stopSubmitting();
      await waitUntil("every acknowledged job completed", () => {
        const missing = [...seen.acked.keys()].filter((h) => !seen.completed.has(h));
        return missing.length === 0 || `${missing.length} of ${seen.acked.size} not completed yet`;
      }, 30_000);
      await sleep(100); // the last WORK_COMPLETEs on their way to the server (the test owns no deadline here)
      seen.stop();
      await server.stop();
      assert.equal(await count(url, "SELECT count(*) AS n FROM gearbox_job"), 0, "every completion deleted its row");
      const down = lines.filter((l) => String(l.msg).startsWith("store unreachable"));
      const back = lines.filter((l) => l.msg === "store reachable again");
      assert.equal(down.length, 1, `one "unreachable" line: ${JSON.stringify(down)}`);
      assert.equal(back.length, 1, `one "reachable again" line: ${JSON.stringify(back)}`);
      assert.ok(Number(back[0]!.down_ms) >= OUTAGE_MS - 1000, `the outage's length: ${JSON.stringify(back[0])}`);
      assert.ok(Number(back[0]!.failed_commits) > 0, "the failed commits counted");
      assert.equal(lines.filter((l) => String(l.msg).includes("commit failed")).length, 0, "no line per failed commit");
      console.log(
        `outage: ${seen.acked.size} acknowledged, ${seen.refused.length} refused, ${seen.completed.size} completed; ${
          JSON.stringify(back[0])
        }`,
      );
    },
  );

  test("after a restart the node takes its advisory lock again on its next heartbeat: a second process with its node id is refused", {
    skip: restartSkip,
  }, async () => {
    const url = await newDatabase();
    const clock = new ManualClock();
    const server = createServer({ port: 0, listen: "127.0.0.1", logLevel: "silent", store: url, nodeId: "relock", nodeLease: 3, clock });
    await server.start();
    await server.clusterSettled();
    await restart!.bounce();
    clock.advance(1000); // the next heartbeat
    await server.clusterSettled();
    await assert.rejects(rival(url, "relock").open(), (e: Error & { code?: string }) => e.code === "STORE_LOCKED");
    assert.equal(server.lost, undefined);
    await server.stop();
  });

  test(
    "after a restart, a node whose lock another process with its node id took first stops, saying so",
    { skip: restartSkip },
    async () => {
      const url = await newDatabase();
      const clock = new ManualClock();
      const server = createServer({ port: 0, listen: "127.0.0.1", logLevel: "silent", store: url, nodeId: "twin", nodeLease: 3, clock });
      await server.start();
      await server.clusterSettled();
      await restart!.bounce();
      const other = rival(url, "twin");
      await other.open(); // the lock went with the restarted database's sessions
      try {
        clock.advance(1000);
        await server.clusterSettled();
        await server.done;
        assert.match(server.lost ?? "", /in use by another gearbox serve with node id "twin"/);
      } finally {
        await other.close();
      }
    },
  );

  test("cut off from the database, a grab of a job whose workload is there gets NO_JOB and the job waits untouched; it is served, bytes intact, once the database answers", async () => {
    const url = new URL(await newDatabase());
    const target = { host: url.hostname, port: Number(url.port) };
    url.port = String(await freePort());
    let link = await forward(Number(url.port), target);
    const clock = new ManualClock();
    const options = { port: 0, listen: "127.0.0.1", logLevel: "silent" as const, store: url.href, nodeId: "cut", clock };
    const server = createServer({ ...options, maxPayloadMemory: 0 }); // every workload read back from the database
    await server.start();
    const c = await RawConn.connect(server.port);
    const w = await RawConn.connect(server.port);
    try {
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "cut_fn", "", "the bytes\0of the job");
      const handle = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
      await link.close(); // the partition: every connection cut, new ones refused
      w.sendPacket(Cmd.CAN_DO, "cut_fn");
      w.sendPacket(Cmd.GRAB_JOB);
      await w.expectPacket(Cmd.NO_JOB, 15_000);
      const counters = server.core.view.counters;
      assert.equal(counters.get("read_requeued"), 1);
      assert.equal(counters.get("payload_unavailable") ?? 0, 0, "not failed");
      link = await forward(Number(url.port), target);
      let assigned: Buffer | undefined;
      await waitUntil(
        "the job served once the database answers",
        async () => {
          clock.advance(1000); // the job is offered again a second later, on the server's clock
          w.sendPacket(Cmd.GRAB_JOB);
          const p = await w.expectPacket(undefined, 5000);
          if (p.code === Cmd.JOB_ASSIGN) assigned = p.body;
          return assigned !== undefined || `got packet ${p.code}`;
        },
        15_000,
        200,
      );
      assert.ok(assigned!.equals(Buffer.concat([Buffer.from(`${handle}\0cut_fn\0`), Buffer.from("the bytes\0of the job")])));
      assert.equal(counters.get("payload_unavailable") ?? 0, 0);
    } finally {
      c.close();
      w.close();
      await server.stop();
      await link.close();
    }
  });
});
