import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "../helpers/free_port.ts";
import { ROOT } from "../helpers/servers.ts";
import { roundTrip } from "../helpers/round_trip.ts";

const DENO = `${ROOT}node_modules/.bin/deno`;

test("the same sources serve a round trip under deno run, with the sqlite store", { skip: existsSync(DENO) ? false : "deno not installed (npm install)" }, async () => {
  const port = await freePort();
  const child = spawn(DENO, [
    "run", "--allow-net=127.0.0.1", "--allow-read", "--allow-write", "--allow-env", "--allow-sys",
    `${ROOT}src/cli/main.ts`, "serve", "--port", String(port), "--log-level", "warn",
    "--store", `sqlite:${join(mkdtempSync(join(tmpdir(), "gearbox-deno-")), "jobs.db")}`,
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
