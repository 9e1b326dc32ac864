/**
 * `gearbox serve --metrics-listen` as a user runs it: the compiled binary
 * (or the sources under Bun) and the same sources under `deno run` answer
 * /ready and /metrics; a non-loopback address and a busy metrics port are
 * refused with a sentence naming the setting.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer as netServer } from "node:net";
import { freePort } from "../helpers/free_port.ts";
import { gearboxCommand, ROOT, startGearbox } from "../helpers/servers.ts";
import { waitUntil } from "../helpers/wait.ts";

const DENO = `${ROOT}node_modules/.bin/deno`;

async function ready(port: number): Promise<void> {
  await waitUntil("/ready answers 200", async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200;
    } catch {
      return false;
    }
  }, 30_000);
}

test("gearbox serve --metrics-listen answers /ready and serves /metrics", async () => {
  const metrics = await freePort();
  const server = await startGearbox({ extra: ["--metrics-listen", `127.0.0.1:${metrics}`] });
  try {
    await ready(metrics);
    const page = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    assert.match(page, /^gearbox_ready 1$/m);
    assert.match(page, /^gearbox_connections\{role="all"\} \d+$/m);
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
});

test("gearbox serve refuses a non-loopback --metrics-listen without metrics_insecure (exit 78)", () => {
  const [bin, ...pre] = gearboxCommand();
  const r = spawnSync(bin!, [...pre, "serve", "--port", "0", "--store", "memory:", "--metrics-listen", "0.0.0.0:9464"], {
    encoding: "utf8",
  });
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, /metrics_listen: 0\.0\.0\.0 is not a loopback address.*metrics_insecure: true/);
});

test("gearbox serve says which address is busy when the metrics port is taken", async () => {
  const taken = netServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  const port = (taken.address() as { port: number }).port;
  try {
    const [bin, ...pre] = gearboxCommand();
    const r = spawnSync(bin!, [...pre, "serve", "--port", "0", "--store", "memory:", "--metrics-listen", `127.0.0.1:${port}`], {
      encoding: "utf8",
    });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `gearbox serve: 127.0.0.1:${port} (metrics_listen) is already in use\n`);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});

test(
  "the same sources serve /metrics under deno run",
  { skip: existsSync(DENO) ? false : "deno not installed (npm install)" },
  async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const args = ["run", "-A", `${ROOT}src/cli/main.ts`, "serve", "--port", String(port), "--store", "memory:", "--log-level", "warn"];
    const child = spawn(DENO, [...args, "--metrics-listen", `127.0.0.1:${metrics}`], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await ready(metrics);
      const page = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
      assert.match(page, /^# TYPE gearbox_job_wait_seconds histogram$/m);
      assert.match(page, /^process_resident_memory_bytes [1-9]\d*$/m);
    } finally {
      child.kill("SIGTERM");
      assert.equal(await exited, 0, err);
    }
  },
);
