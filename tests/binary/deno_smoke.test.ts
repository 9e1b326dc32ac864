import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitForPort } from "../helpers/free_port.ts";
import { ROOT, startGearbox } from "../helpers/servers.ts";
import { consoleCommand } from "../helpers/drive.ts";
import { Client } from "../../mod.ts";
import { roundTrip } from "../helpers/round_trip.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

const DENO = `${ROOT}node_modules/.bin/deno`;

test("the same sources serve a round trip under deno run, with the sqlite store", {
  skip: existsSync(DENO) ? false : "deno not installed (npm install)",
}, async () => {
  const port = await freePort();
  const child = spawn(DENO, [
    "run",
    "--allow-net=127.0.0.1",
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
    `sqlite:${join(tempDir("gearbox-deno-"), "jobs.db")}`,
  ], { stdio: ["ignore", "ignore", "pipe"], cwd: ROOT });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    await waitForPort(port, 30_000);
    await roundTrip(port);
  } finally {
    child.kill("SIGTERM");
    const code = await exited;
    assert.equal(code, 0, `deno serve exited with ${code}: ${err}`);
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
    assert.deepEqual(await consoleCommand(consolePort, "shutdown"), ["OK"]);
    assert.equal(await exited, 0, err);
    assert.match(err, /process stopped job="rev_job" pid=\d+ how="exit code 0"/);
  } finally {
    client.close();
    child.kill("SIGKILL");
    await server.stop();
  }
});
