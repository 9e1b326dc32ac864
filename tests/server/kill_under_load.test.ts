/**
 * Durability under crashes: the server is killed with SIGKILL 20 times while
 * 4 submitters and 2 workers run; after a final restart and drain, every
 * acknowledged background job must have been completed (at least once).
 * Duplicates (a job completed by a worker whose server died before the
 * completion was committed) are counted and reported, not failed. Every
 * workload is left to the store (--max-payload-memory 0), so each
 * assignment reads it back from disk; it must be the job's own. Half the
 * jobs have a unique of their own and half an empty one (the workload names
 * the job). Run on SQLite and on PostgreSQL.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet } from "../helpers/raw_conn.ts";
import { packetSocket, reconnectingWorker } from "../helpers/packet_socket.ts";
import { freePort } from "../helpers/free_port.ts";
import { killableServe } from "../helpers/servers.ts";
import { checkStore, healthy } from "../../src/store/store_salvage.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { testPostgres } from "../helpers/postgres.ts";

const tempDir = tempDirs();

const KILLS = Number(process.env.KILLS ?? 20);

const postgres = await testPostgres();

test(`acknowledged background jobs survive ${KILLS} SIGKILLs under load: none lost`, { timeout: 120_000 }, async () => {
  const db = join(tempDir("gearbox-kill-"), "jobs.db");
  await killUnderLoad(["--store", `sqlite:${db}`]);
  // The last kill left a WAL behind: the file, read as a crashed server leaves it, is sound.
  const report = checkStore(db);
  assert.ok(healthy(report), `after ${KILLS} SIGKILLs the store passes its check: ${JSON.stringify(report)}`);
});

test(`acknowledged background jobs survive ${KILLS} SIGKILLs under load on PostgreSQL: none lost`, {
  timeout: 120_000,
  skip: postgres.ok ? false : postgres.skip,
}, async () => {
  const url = await (postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error("no PostgreSQL")));
  // One node id for every restart: the restarted server is the same node and replays its jobs.
  await killUnderLoad(["--store", url, "--node-id", "kill-test"]);
});

/** SIGKILLs the server `KILLS` times under load on the store `storeArgs` names, then checks no acknowledged job was lost. */
async function killUnderLoad(storeArgs: string[]): Promise<void> {
  const port = await freePort();
  const { start, kill } = killableServe(port, [...storeArgs, "--max-payload-memory", "0"]);

  const acked = new Set<string>();
  const completed = new Map<string, number>();
  const wrongWorkloads: string[] = [];
  let running = true;
  let submitting = true;

  // Submitters: pipeline 20 jobs at a time; a JOB_CREATED is the acknowledgement.
  const submitter = (k: number) =>
    new Promise<void>((done) => {
      let n = 0;
      const connectOnce = () => {
        if (!submitting) return done();
        const inFlight: string[] = [];
        const s = packetSocket(port, (code) => {
          if (code === Cmd.JOB_CREATED) {
            acked.add(inFlight.shift()!);
            if (inFlight.length === 0) send();
          }
        }, () => setTimeout(connectOnce, 50));
        const send = () => {
          if (!submitting) {
            s.end();
            return;
          }
          const batch = [];
          for (let i = 0; i < 20; i++) {
            const id = `s${k}-${n++}`;
            inFlight.push(id);
            batch.push(packet(Cmd.SUBMIT_JOB_BG, "kill_fn", n % 2 === 0 ? id : "", id));
          }
          s.write(Buffer.concat(batch));
        };
        s.once("connect", send);
      };
      connectOnce();
    });

  // Workers: grab, complete, repeat; sleep when idle.
  const worker = () =>
    reconnectingWorker(port, "kill_fn", () => running, (args) => {
      const id = args.slice(3).join("\0"); // the workload names the job; a unique, when given, is the same
      if (args[2] !== "" && args[2] !== id) wrongWorkloads.push(`${args[2]} got ${JSON.stringify(id)}`);
      completed.set(id, (completed.get(id) ?? 0) + 1);
    });

  await start();
  const tasks = [0, 1, 2, 3].map(submitter);
  const workers = [worker(), worker()];
  let seed = 7;
  for (let i = 0; i < KILLS; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    await new Promise((r) => setTimeout(r, 250 + (seed % 350)));
    await kill();
    await start();
  }
  submitting = false;
  await Promise.all(tasks);

  // Drain: wait until every acknowledged job has been completed.
  const deadline = Date.now() + 60_000;
  while ([...acked].some((id) => !completed.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  running = false;
  await kill();
  await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 2000))]);

  const lost = [...acked].filter((id) => !completed.has(id));
  const duplicates = [...completed.values()].filter((n) => n > 1).length;
  process.stderr.write(
    `kill test (${
      storeArgs[1]!.split(":")[0]
    }): ${KILLS} SIGKILLs, ${acked.size} jobs acknowledged, ${completed.size} completed, ${lost.length} lost, ${duplicates} completed more than once\n`,
  );
  assert.ok(acked.size > 1000, `only ${acked.size} jobs were acknowledged`);
  assert.deepEqual(lost, []);
  assert.deepEqual(wrongWorkloads, [], "every workload read back from the store is the job's own");
}
