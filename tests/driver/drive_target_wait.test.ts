/**
 * Scaling on wait time through the compiled binary: with `target_wait: 2`,
 * a burst that one process cannot serve in time (each job takes 2.5 s)
 * scales the job up once the oldest waiting job is over the target, and
 * the log says by how much it was over.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../mod.ts";
import { Peers } from "../helpers/peers.ts";
import { HAVE_GEARMAND, type RunningServer, startGearbox, startGearmand } from "../helpers/servers.ts";
import { cleanUpAfter, startDriver, waitForJob } from "../helpers/drive.ts";

const MODULE = `
export default {
  prefix: "w.",
  jobs: { slow: { min_processes: 1, max_processes: 4, handler: async () => { await new Promise((r) => setTimeout(r, 2500)); return "ok"; } } },
};
`;

describe("gearbox drive target_wait", () => {
  const peers = new Peers();
  let server: RunningServer;
  let dir: string;
  let client: Client;
  cleanUpAfter(() => ({ client, peers, server, dir }));

  test("a burst one process cannot serve within target_wait scales up, and the log says by how much the oldest job was over", {
    timeout: 90_000,
  }, async () => {
    server = await startGearbox();
    dir = mkdtempSync(join(tmpdir(), "gearbox-drive-wait-"));
    writeFileSync(join(dir, "w.ts"), MODULE);
    client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    const { driver, consolePort, log } = await startDriver(peers, server, dir, {
      namespaces: [join(dir, "w.ts")],
      job_runtime_attributes: { "w.slow": { target_wait: 2 } },
    });
    await waitForJob(consolePort, "w.slow", "one idle process", (s) => s.processes.length === 1 && s.processes[0]!.state === "idle");
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 6 }, (_, i) => client.submitJob("w.slow", `job ${i}`, { background: true })));
    const scaled = await waitForJob(consolePort, "w.slow", "more than one process", (s) => s.current > 1, 20_000);
    const tookMs = Date.now() - t0;
    const line = log().split("\n").find((l) => l.includes("oldest job over target_wait"));
    console.log(`scaled to ${scaled.current} processes ${tookMs} ms after the burst; ${line}`);
    assert.ok(line, "a scaling line names the oldest job over target_wait");
    assert.match(line, /oldest waited \d+\.\d\d s, target 2 s, over by \d+\.\d\d s/);
    const over = Number(/over_s=([\d.]+)/.exec(line)?.[1]);
    assert.ok(over > 0 && over < 3, `over_s ${over}`);
    // It scaled on age, not on depth: not before the oldest job passed 2 s.
    assert.ok(tookMs >= 1900, `scaled ${tookMs} ms after the burst`);
    assert.doesNotMatch(log(), /scaling job="w\.slow" decision="jobs waiting/);
    driver.kill("SIGTERM");
    assert.equal((await driver.waitExit(30_000)).code, 0);
  });

  test("against gearmand, which reports no ages, a job with target_wait scales on queue depth", {
    skip: HAVE_GEARMAND ? false : "gearmand not installed",
    timeout: 60_000,
  }, async () => {
    const gearmand = await startGearmand();
    const other = new Client({ servers: [`127.0.0.1:${gearmand.port}`] });
    try {
      const { driver, consolePort, log } = await startDriver(peers, gearmand, dir, {
        namespaces: [join(dir, "w.ts")],
        job_runtime_attributes: { "w.slow": { target_wait: 2 } },
      });
      await waitForJob(consolePort, "w.slow", "one idle process", (s) => s.processes.length === 1 && s.processes[0]!.state === "idle");
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 4 }, (_, i) => other.submitJob("w.slow", `job ${i}`, { background: true })));
      await waitForJob(consolePort, "w.slow", "more than one process", (s) => s.current > 1, 20_000);
      const tookMs = Date.now() - t0;
      const line = log().split("\n").find((l) => /scaling job="w\.slow" decision="jobs waiting/.test(l));
      console.log(`gearmand: scaled ${tookMs} ms after the burst; ${line}`);
      assert.ok(line, "scaled on depth");
      assert.doesNotMatch(line, /target_wait|over_s/);
      assert.match(log(), /the server has no `functions` command: reading `status`/);
      driver.kill("SIGTERM");
      assert.equal((await driver.waitExit(30_000)).code, 0);
    } finally {
      other.close();
      await gearmand.stop();
    }
  });
});
