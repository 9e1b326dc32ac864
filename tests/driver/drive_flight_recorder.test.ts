/**
 * The flight recorder through the compiled binary: a run that printed, used
 * ~50 MB and failed with exit status 3, and a run whose process exited 3,
 * as the console's `runs` and `run` show them (text and JSON), in the log
 * (each child line with its job's handle), and in runs_dir after a restart.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../mod.ts";
import { DriverConsole, type DriverRun } from "../../src/client/driver_console.ts";
import { Sources } from "../../tui/data/sources.ts";
import { Peers } from "../helpers/peers.ts";
import { type RunningServer, startGearbox } from "../helpers/servers.ts";
import { cleanUpAfter, consoleCommand, startDriver, waitForJob } from "../helpers/drive.ts";
import { waitUntil } from "../helpers/wait.ts";

const MODULE = (mark: string) => `
const MARK = ${JSON.stringify(mark)};
export default {
  prefix: "r.",
  jobs: {
    heavy: {
      handler: async (job: { data: string }) => {
        console.log("starting " + job.data);
        const big = new Uint8Array(50 * 1024 * 1024).fill(7);
        await new Promise((r) => setTimeout(r, 100));
        console.error("allocated " + big.length + " bytes");
        console.log("giving up on " + job.data);
        // Dies once (a retry of the job by the replacement fails as usual).
        const fs = await import("node:fs");
        if (job.data === "die" && !fs.existsSync(MARK)) {
          fs.writeFileSync(MARK, "");
          process.exit(3);
        }
        throw Object.assign(new Error("cannot process " + job.data), { exitStatus: 3 });
      },
    },
  },
};
`;

const MiB = 1024 * 1024;

describe("gearbox drive flight recorder", () => {
  const peers = new Peers();
  let server: RunningServer;
  let dir: string;
  let client: Client;
  cleanUpAfter(() => ({ client, peers, server, dir }));

  test(
    "a run that printed, used about 50 MB and failed with exit status 3 is on the console with its pid, peak memory and output, and survives a restart in runs_dir",
    {
      timeout: 90_000,
    },
    async () => {
      server = await startGearbox();
      dir = mkdtempSync(join(tmpdir(), "gearbox-drive-runs-"));
      writeFileSync(join(dir, "r.ts"), MODULE(join(dir, "died-once")));
      client = new Client({ servers: [`127.0.0.1:${server.port}`] });
      const runsDir = join(dir, "runs");
      const settings = { namespaces: [join(dir, "r.ts")], runs_dir: runsDir, runs_kept: 5, run_output_bytes: 200 };
      const { driver, consolePort, log } = await startDriver(peers, server, dir, settings);
      const before = await waitForJob(
        consolePort,
        "r.heavy",
        "one idle process",
        (s) => s.processes.length === 1 && s.processes[0]!.state === "idle",
      );
      const pid = before.processes[0]!.pid;
      const rssBefore = (before.processes[0] as { rss_bytes?: number }).rss_bytes!;

      const failed = await client.submitJob("r.heavy", "fail-me", { timeoutMs: 15_000 });
      assert.equal(failed.state, "FAILED");
      const handle = failed.handle!;
      const dc = new DriverConsole({ address: `127.0.0.1:${consolePort}` });
      let run: DriverRun | undefined;
      await waitUntil("the run is recorded with its output", async () => {
        run = (await dc.runs("r.heavy"))[0];
        return run?.outcome === "fail" && run.output.length === 3;
      }, 10_000);
      console.log(`run ${JSON.stringify({ ...run, output: run!.output.length })}`);
      assert.equal(run!.handle, handle);
      assert.equal(run!.pid, pid);
      assert.equal(run!.function, "r.heavy");
      assert.equal(run!.exit_status, 3);
      assert.equal(run!.message, "cannot process fail-me");
      const grew = (run!.peak_rss_bytes! - rssBefore) / MiB;
      console.log(`peak ${(run!.peak_rss_bytes! / MiB).toFixed(1)} MiB, ${grew.toFixed(1)} MiB above the idle process`);
      assert.ok(grew >= 45, `the run's peak is ${grew.toFixed(1)} MiB above the idle process's RSS`);
      assert.deepEqual(run!.output, [
        { stream: "stdout", line: "starting fail-me" },
        { stream: "stderr", line: "allocated 52428800 bytes" },
        { stream: "stdout", line: "giving up on fail-me" },
      ]);
      assert.ok(run!.end! >= run!.start + 90, "the run lasted at least its 100 ms sleep");
      assert.deepEqual(await dc.run(handle), run);

      const [line] = await consoleCommand(consolePort, "runs r.heavy 1");
      assert.match(line!, new RegExp(`^${handle}\\t${pid}\\t\\S+Z\\t\\d+\\.\\d{3}\\tfail\\t3\\t\\d+\\.\\dMiB\\tgiving up on fail-me$`));
      const detail = await consoleCommand(consolePort, `run ${handle}`);
      assert.ok(detail.includes(`pid: ${pid}`) && detail.includes("exit_status: 3") && detail.includes("stderr: allocated 52428800 bytes"));
      assert.match(detail.join("\n"), /peak_rss: (\d+)\.\dMiB/);
      assert.deepEqual(await consoleCommand(consolePort, "run H:nope:1"), ["ERR no_such_run: H:nope:1 (not among the runs kept)"]);
      assert.deepEqual(await consoleCommand(consolePort, "runs nope"), ["ERR invalid_job_name: nope"]);
      assert.match(
        log(),
        new RegExp(`giving up on fail-me job="r\\.heavy" pid=${pid} stream="?stdout"? handle="?${handle.replace(/[.:]/g, "\\$&")}`),
      );

      // gearbox top's detail of the function reads the same run from the driver.
      const sources = new Sources([`127.0.0.1:${server.port}`], [`127.0.0.1:${consolePort}`], undefined, 5000);
      const topDetail = await sources.detail("r.heavy");
      sources.close();
      assert.deepEqual(topDetail.runs?.find((r) => r.handle === handle), run);

      // The process itself exits 3 during a run.
      void client.submitJob("r.heavy", "die", { background: true });
      // (The server may give the job to the replacement process too: the first death is this pid's.)
      const diedOf = async () => (await dc.runs("r.heavy")).find((r) => r.outcome === "died" && r.pid === pid);
      await waitUntil("the dying run is recorded", async () => (await diedOf()) !== undefined, 15_000);
      const died = (await diedOf())!;
      assert.equal(died.exit_status, 3);
      assert.equal(died.signal, null);
      assert.equal(died.pid, pid);
      assert.equal(died.output.at(-1)?.line, "giving up on die");
      assert.ok(
        died.peak_rss_bytes! >= 50 * MiB,
        `peak ${(died.peak_rss_bytes! / MiB).toFixed(1)} MiB (sampled: the process is gone at the end)`,
      );
      dc.close();

      driver.kill("SIGTERM");
      assert.equal((await driver.waitExit(30_000)).code, 0);
      const file = join(runsDir, "r.heavy.runs.jsonl");
      assert.ok(existsSync(file));
      const onDisk = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as DriverRun);
      console.log(`on disk: ${onDisk.map((r) => `${r.handle} ${r.outcome} ${r.exit_status}`).join(", ")}`);
      assert.ok(onDisk.some((r) => r.handle === handle && r.exit_status === 3));

      // A new driver reads them back.
      const again = await startDriver(peers, server, dir, settings);
      const dc2 = new DriverConsole({ address: `127.0.0.1:${again.consolePort}` });
      const kept = await dc2.run(handle);
      dc2.close();
      assert.equal(kept.pid, pid);
      assert.equal(kept.output.length, 3);
      again.driver.kill("SIGTERM");
      await again.driver.waitExit(30_000);
    },
  );
});
