/**
 * `gearbox drive --metrics-listen` through the compiled binary: the exact
 * drive metrics after a scripted workload (processes by state, runs by
 * outcome, the run-duration histogram's count, scaling decisions by reason),
 * `promtool check metrics` on the page, /health, /ready (503 while
 * draining), and a non-loopback address refused at start.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../mod.ts";
import { Peers } from "../helpers/peers.ts";
import { gearboxCommand, type RunningServer, startGearbox } from "../helpers/servers.ts";
import { cleanUpAfter, startDriver, waitForJob } from "../helpers/drive.ts";
import { waitUntil } from "../helpers/wait.ts";

const MODULE = `
export default {
  prefix: "m.",
  jobs: {
    work: {
      handler: async (job: { data: string }) => {
        if (job.data === "slow") await new Promise((r) => setTimeout(r, 3000));
        if (job.data === "bad") throw Object.assign(new Error("bad input"), { exitStatus: 3 });
        return "ok";
      },
    },
  },
};
`;

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text(), type: r.headers.get("content-type") };
}

describe("gearbox drive metrics endpoint", () => {
  const peers = new Peers();
  let server: RunningServer;
  let dir: string;
  let client: Client;
  cleanUpAfter(() => ({ client, peers, server, dir }));

  test("after two completed runs and one failed, /metrics says so exactly and promtool accepts it; /ready is 503 while draining", {
    timeout: 90_000,
  }, async () => {
    server = await startGearbox();
    dir = mkdtempSync(join(tmpdir(), "gearbox-drive-metrics-"));
    writeFileSync(join(dir, "m.ts"), MODULE);
    client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    const { driver, consolePort, log } = await startDriver(peers, server, dir, {
      namespaces: [join(dir, "m.ts")],
      metrics_listen: "127.0.0.1:0",
    });
    const port = Number(/metrics endpoint listening address="?127\.0\.0\.1:(\d+)/.exec(log())?.[1]);
    assert.ok(port > 0, "the log names the endpoint's port");
    await waitForJob(consolePort, "m.work", "one idle process", (s) => s.processes.length === 1 && s.processes[0]!.state === "idle");
    assert.equal((await client.submitJob("m.work", "a", { timeoutMs: 10_000 })).result, "ok");
    assert.equal((await client.submitJob("m.work", "b", { timeoutMs: 10_000 })).result, "ok");
    assert.equal((await client.submitJob("m.work", "bad", { timeoutMs: 10_000 })).state, "FAILED");
    let page = "";
    await waitUntil("three runs counted", async () => {
      page = (await get(port, "/metrics")).body;
      return page.includes('gearbox_drive_run_seconds_count{drive_job="m.work"} 3') || page;
    }, 10_000);
    const lines = page.split("\n");
    for (
      const want of [
        'gearbox_drive_processes{drive_job="m.work",state="idle"} 1',
        'gearbox_drive_processes{drive_job="m.work",state="busy"} 0',
        'gearbox_drive_crash_looping{drive_job="m.work"} 0',
        'gearbox_drive_runs_total{drive_job="m.work",outcome="complete"} 2',
        'gearbox_drive_runs_total{drive_job="m.work",outcome="fail"} 1',
        'gearbox_drive_run_seconds_bucket{drive_job="m.work",le="+Inf"} 3',
        'gearbox_drive_scaling_decisions_total{drive_job="m.work",reason="below_min"} 1',
      ]
    ) assert.ok(lines.includes(want), `${want} in\n${page}`);
    assert.ok(!page.includes("gearbox_drive_restarts_total{"), "no process died");
    const m = await get(port, "/metrics");
    assert.equal(m.type, "text/plain; version=0.0.4; charset=utf-8");
    const promtool = spawnSync("promtool", ["check", "metrics"], { input: m.body, encoding: "utf8" });
    assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
    assert.deepEqual(await get(port, "/health"), { status: 200, body: "ok\n", type: "text/plain; charset=utf-8" });
    assert.equal((await get(port, "/ready")).status, 200);
    assert.equal((await get(port, "/nope")).status, 404);

    // A run under way keeps the driver draining: /ready says so.
    void client.submitJob("m.work", "slow", { background: true });
    await waitForJob(consolePort, "m.work", "a busy process", (s) => s.processes.some((p) => p.state === "busy"));
    driver.kill("SIGTERM");
    await waitUntil("/ready says draining", async () => {
      const r = await get(port, "/ready");
      return (r.status === 503 && r.body === "draining: the driver is stopping\n") || `${r.status} ${r.body}`;
    }, 5000);
    assert.equal((await get(port, "/health")).status, 200, "alive while draining");
    assert.equal((await driver.waitExit(30_000)).code, 0);
  });

  test("a metrics_listen on a non-loopback address is refused at start, naming the setting", { timeout: 30_000 }, () => {
    const [bin, ...pre] = gearboxCommand();
    const r = spawnSync(bin!, [
      ...pre,
      "drive",
      "--server",
      "127.0.0.1:1",
      "--console-port",
      "0",
      "--metrics-listen",
      "0.0.0.0:0",
      "--jobs",
      JSON.stringify({ x: { command: ["cat"] } }),
    ], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /metrics_listen: 0\.0\.0\.0 is not a loopback address/);
  });
});
