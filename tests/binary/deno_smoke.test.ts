import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitForPort } from "../helpers/free_port.ts";
import { ROOT, startGearbox } from "../helpers/servers.ts";
import { consoleCommand } from "../helpers/drive.ts";
import { Client } from "../../mod.ts";
import { roundTrip } from "../helpers/round_trip.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { testPostgres } from "../helpers/postgres.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { readFileSync } from "node:fs";
import { makeCerts } from "../helpers/certs.ts";

const tempDir = tempDirs();

const DENO = `${ROOT}node_modules/.bin/deno`;

/** `gearbox serve` from the sources under deno run, on a free port, until `stop()` (SIGTERM; it must exit 0). */
async function denoServe(store: string, ...extra: string[]): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(DENO, [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    `${ROOT}src/cli/main.ts`,
    "serve",
    "--port",
    String(port),
    "--log-level",
    "warn",
    "--store",
    store,
    ...extra,
  ], { stdio: ["ignore", "ignore", "pipe"], cwd: ROOT });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  await Promise.race([waitForPort(port, 30_000), exited.then((code) => Promise.reject(new Error(`deno serve exited ${code}: ${err}`)))]);
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      const code = await exited;
      assert.equal(code, 0, `deno serve exited with ${code}: ${err}`);
    },
  };
}

const postgres = await testPostgres();

test("the same sources serve a round trip under deno run, with the sqlite store", {
  skip: existsSync(DENO) ? false : "deno not installed (npm install)",
}, async () => {
  const server = await denoServe(`sqlite:${join(tempDir("gearbox-deno-"), "jobs.db")}`);
  try {
    await roundTrip(server.port);
  } finally {
    await server.stop();
  }
});

test("a schedule from the config fires its job under deno run, with the sqlite store", {
  skip: existsSync(DENO) ? false : "deno not installed (npm install)",
}, async () => {
  const dir = tempDir("gearbox-deno-schedule-");
  const config = join(dir, "serve.yaml");
  writeFileSync(config, "schedules:\n  - name: beat\n    function: beat_fn\n    every: 1s\n    workload: SLOT_MS\n");
  const server = await denoServe(`sqlite:${join(dir, "jobs.db")}`, "--config", config);
  try {
    const w = await RawConn.connect(server.port);
    w.sendPacket(Cmd.CAN_DO, "beat_fn");
    let job;
    for (let i = 0; i < 100 && !job; i++) {
      w.sendPacket(Cmd.GRAB_JOB_UNIQ);
      const p = await w.expectPacket();
      if (p.code === Cmd.JOB_ASSIGN_UNIQ) job = p;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(job, "a slot's job reached the worker within 10 s");
    assert.equal(job.args[2], `beat:${new Date(Number(job.args[3])).toISOString()}`, "its unique names the slot its workload gives");
    w.close();
  } finally {
    await server.stop();
  }
});

test("the same sources serve mutual TLS under deno run: a trusted client's echo is answered, an untrusted one gets nothing", {
  skip: existsSync(DENO) ? false : "deno not installed (npm install)",
}, async () => {
  const certs = makeCerts(tempDir("gearbox-deno-tls-"));
  const server = await denoServe("memory:", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-ca", certs.ca);
  try {
    const ca = readFileSync(certs.ca);
    const { conn } = await RawConn.connectTls(server.port, {
      ca,
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
    });
    conn.sendPacket(Cmd.ECHO_REQ, "deno tls");
    assert.equal((await conn.expectPacket(Cmd.ECHO_RES, 5000)).body.toString(), "deno tls");
    conn.close();
    const opts = { ca, cert: readFileSync(certs.otherClientCert), key: readFileSync(certs.otherClientKey) };
    const intruder = await RawConn.connectTls(server.port, opts).then((r) => r.conn, () => undefined);
    if (intruder) {
      intruder.sendPacket(Cmd.ECHO_REQ, "let me in");
      await intruder.expectClosed(5000);
      assert.equal(intruder.buffered.length, 0);
    }
  } finally {
    await server.stop();
  }
});

test("the same sources keep background jobs in PostgreSQL under deno run, across a restart", {
  skip: !existsSync(DENO) ? "deno not installed (npm install)" : postgres.ok ? false : postgres.skip,
  timeout: 60_000,
}, async () => {
  const store = await (postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error("no PostgreSQL")));
  // The same node id both times: a server on another port is another node (its jobs would wait for adoption).
  const first = await denoServe(store, "--node-id", "deno-smoke");
  const handles: string[] = [];
  try {
    const c = await RawConn.connect(first.port);
    for (let i = 0; i < 20; i++) c.sendPacket(Cmd.SUBMIT_JOB_BG, "deno_pg", `u${i}`, `job ${i}\0\xff`);
    for (let i = 0; i < 20; i++) handles.push((await c.expectPacket(Cmd.JOB_CREATED, 10_000)).body.toString("latin1"));
    c.close();
  } finally {
    await first.stop();
  }
  const second = await denoServe(store, "--node-id", "deno-smoke");
  try {
    const w = await RawConn.connect(second.port);
    w.sendPacket(Cmd.CAN_DO, "deno_pg");
    const got: string[] = [];
    for (let i = 0; i < 20; i++) {
      w.sendPacket(Cmd.GRAB_JOB_UNIQ);
      const p = await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ, 10_000);
      let at = -1;
      for (let k = 0; k < 3; k++) at = p.body.indexOf(0, at + 1); // handle, function, unique: then the workload
      const unique = p.args[2]!;
      assert.equal(p.body.subarray(at + 1).toString("latin1"), `job ${unique.slice(1)}\0\xff`, `${unique}'s bytes`);
      got.push(p.args[0]!);
      w.sendPacket(Cmd.WORK_COMPLETE, p.args[0]!, "");
    }
    w.close();
    assert.deepEqual(got.sort(), [...handles].sort(), "every acknowledged job, by its handle");
  } finally {
    await second.stop();
  }
});

test("gearbox drive supervises a command job under deno run (Deno.Command), and drains on the console's shutdown", {
  skip: existsSync(DENO) ? false : "deno not installed (npm install)",
  timeout: 60_000,
}, async () => {
  const server = await startGearbox();
  const consolePort = await freePort();
  const child = spawn(DENO, [
    "run",
    "-A",
    `${ROOT}src/cli/main.ts`,
    "drive",
    "-s",
    `127.0.0.1:${server.port}`,
    "--console-port",
    String(consolePort),
    "--interval",
    "0.3",
    "--jobs",
    JSON.stringify({ rev_job: { command: ["rev"] } }),
  ], { stdio: ["ignore", "ignore", "pipe"], cwd: ROOT });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
  try {
    await waitForPort(consolePort, 30_000);
    const req = await client.submitJob("rev_job", "hello\n", { timeoutMs: 20_000 });
    assert.equal(req.result, "olleh\n", err);
    // The flight recorder under deno: the run, its process and its peak memory.
    const [run] = await consoleCommand(consolePort, "runs rev_job 1");
    assert.match(run ?? "", new RegExp(`^${req.handle}\\t\\d+\\t\\S+Z\\t\\d+\\.\\d{3}\\tcomplete\\t-\\t\\d+\\.\\dMiB\\t`));
    assert.deepEqual(await consoleCommand(consolePort, "shutdown"), ["OK"]);
    assert.equal(await exited, 0, err);
    assert.match(err, /process stopped job="rev_job" pid=\d+ how="exit code 0"/);
  } finally {
    client.close();
    child.kill("SIGKILL");
    await server.stop();
  }
});
