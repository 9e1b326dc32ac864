/**
 * A client never hangs on a fast worker: 1,000 submissions, each on a fresh
 * connection as `gearbox submit` makes them, against the gearbox binary with
 * a worker that answers at once (so JOB_CREATED and WORK_COMPLETE often
 * arrive in one read), and 50 runs of the `gearbox submit` binary itself.
 * `npm run check:submit-hangs` runs the binary 1,000 times.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Client, Worker } from "../../mod.ts";
import { gearboxCommand, type RunningServer, startGearbox } from "../helpers/servers.ts";

describe("submissions against a worker that answers at once", () => {
  let server: RunningServer;
  let addr: string;
  let worker: Worker;
  let working: Promise<void>;
  before(async () => {
    server = await startGearbox();
    addr = `127.0.0.1:${server.port}`;
    worker = new Worker({ servers: [addr] });
    worker.register("fast_rev", (job) => [...job.data].reverse().join(""));
    working = worker.work();
  });
  after(async () => {
    await worker.stop();
    await working;
    await server.stop();
  });

  test("1,000 submissions on fresh connections all complete with their own result", async () => {
    const failed: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < 1000) {
        const data = `job-${next++}`;
        const client = new Client({ servers: [addr] });
        // The 5 s bound turns a hang into a counted failure instead of a stuck test.
        const req = await client.submitJob("fast_rev", data, { timeoutMs: 5000 });
        client.close();
        if (req.result !== [...data].reverse().join("")) failed.push(`${data}: ${req.state}${req.timedOut ? " (hung)" : ""}`);
      }
    }));
    assert.deepEqual(failed, []);
  });

  test("50 runs of gearbox submit all exit 0 with the result", async () => {
    const [bin, ...pre] = gearboxCommand();
    const failed: string[] = [];
    for (let i = 0; i < 50; i++) {
      const data = `run-${i}`;
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(bin!, [...pre, "submit", "fast_rev", data, "-s", addr]);
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
        p.on("exit", (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
      if (r.code !== 0 || r.out !== [...data].reverse().join("")) failed.push(`${data}: exit ${r.code}, ${JSON.stringify(r.out)}`);
    }
    assert.deepEqual(failed, []);
  });
});
