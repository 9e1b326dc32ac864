/**
 * A command job's run in the flight recorder is its program's: the pid is
 * the program's (the worker process's is worker_pid), the peak memory is
 * the program's VmHWM as the worker process read it while it ran, and the
 * lines it wrote to stderr, its exit status and message are kept.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../mod.ts";
import type { DriverRun } from "../../src/client/driver_console.ts";
import { Peers } from "../helpers/peers.ts";
import { type RunningServer, startGearbox } from "../helpers/servers.ts";
import { cleanUpAfter, consoleCommand, startDriver, waitForJob } from "../helpers/drive.ts";
import { waitUntil } from "../helpers/wait.ts";

const MiB = 1024 * 1024;

// Says its pid, holds 60 MiB (filled, so resident) for 0.6 s, and exits 3.
const PROGRAM = [
  "import os, sys, time",
  "print('pid', os.getpid(), file=sys.stderr, flush=True)",
  "big = b'x' * (60 * 1024 * 1024)",
  "print('holding', len(big), 'bytes', file=sys.stderr, flush=True)",
  "time.sleep(0.6)",
  "print('giving up', file=sys.stderr, flush=True)",
  "sys.exit(3)",
].join("\n");

describe("gearbox drive flight recorder, command jobs", () => {
  const peers = new Peers();
  let server: RunningServer;
  let dir: string;
  let client: Client;
  cleanUpAfter(() => ({ client, peers, server, dir }));

  test(
    "a command job's run records the program's own pid, its peak memory, its exit status and its lines, with the worker process as worker_pid",
    {
      timeout: 90_000,
    },
    async () => {
      server = await startGearbox();
      dir = mkdtempSync(join(tmpdir(), "gearbox-drive-command-run-"));
      client = new Client({ servers: [`127.0.0.1:${server.port}`] });
      const settings = { jobs: { hog: { command: ["python3", "-c", PROGRAM], min_processes: 1, max_processes: 1 } } };
      const { driver, consolePort } = await startDriver(peers, server, dir, settings);
      const idle = await waitForJob(
        consolePort,
        "hog",
        "one idle process",
        (s) => s.processes.length === 1 && s.processes[0]!.state === "idle",
      );
      const workerPid = idle.processes[0]!.pid;

      const failed = await client.submitJob("hog", "x", { timeoutMs: 15_000 });
      assert.equal(failed.state, "FAILED");
      const handle = failed.handle!;
      let run: DriverRun | undefined;
      await waitUntil("the run is recorded with its lines", async () => {
        const [line] = await consoleCommand(consolePort, `run ${handle} json`);
        run = JSON.parse(line ?? "null") as DriverRun;
        return run?.outcome === "fail" && run.output.length === 3;
      }, 10_000);
      console.log(`run ${JSON.stringify(run)}`);
      const said = /^pid (\d+)$/.exec(run!.output[0]!.line);
      assert.ok(said, `the first line is the program's pid: ${run!.output[0]!.line}`);
      assert.equal(run!.pid, Number(said[1]), "pid is the program's");
      assert.notEqual(run!.pid, workerPid);
      assert.equal(run!.worker_pid, workerPid);
      assert.equal(run!.exit_status, 3);
      assert.match(run!.message!, /giving up \(exit status 3\)/);
      assert.deepEqual(run!.output.slice(1), [
        { stream: "stderr", line: `holding ${60 * MiB} bytes` },
        { stream: "stderr", line: "giving up" },
      ]);
      const peak = run!.peak_rss_bytes! / MiB;
      console.log(`the program's peak: ${peak.toFixed(1)} MiB`);
      assert.ok(peak >= 50 && peak < 200, `the program's peak is ${peak.toFixed(1)} MiB`);
      const detail = await consoleCommand(consolePort, `run ${handle}`);
      assert.ok(detail.includes(`pid: ${run!.pid}`) && detail.includes(`worker_pid: ${workerPid}`), detail.join("\n"));

      driver.kill("SIGTERM");
      assert.equal((await driver.waitExit(30_000)).code, 0);
    },
  );
});
