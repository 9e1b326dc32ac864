/**
 * `gearbox drive` end to end (issue 5): the compiled binary supervising real
 * worker processes for a job server, once with a shell command job and once
 * with a TypeScript worker module. Queued jobs scale the job from min to max,
 * idle time brings it back, a killed worker is replaced, a worker that dies
 * at once ends in the crash-loop state with bounded restarts, the console
 * answers every command, SIGTERM drains with no job lost, and the logfile
 * holds each child's output lines with pid and job.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminClient, Client, type JobRequest } from "../../mod.ts";
import { EXIT } from "../../src/cli/exit_status.ts";
import { Peers } from "../helpers/peers.ts";
import { gearboxCommand, startGearbox } from "../helpers/servers.ts";
import { consoleCommand, jobStatus, startDriver, waitForJob } from "../helpers/drive.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const KINDS = [
  {
    kind: "shell command job",
    job: "slow_shell",
    crashJob: "broken_shell",
    setup(dir: string) {
      return {
        jobs: {
          slow_shell: {
            command: ["sh", "-c", 'read x; echo "working on $x in $$" >&2; sleep 0.4; printf "done:%s" "$x"'],
            min_processes: 1,
            max_processes: 3,
          },
          broken_shell: { command: [join(dir, "no-such-program")], min_processes: 1, max_processes: 2 },
        },
      };
    },
  },
  {
    kind: "TypeScript worker module",
    job: "slow::work",
    crashJob: "broken::work",
    setup(dir: string) {
      writeFileSync(
        join(dir, "slow.ts"),
        `
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export default {
  jobs: {
    work: {
      min_processes: 1,
      max_processes: 3,
      handler: async (job: { data: string }) => {
        console.log(\`working on \${job.data} in \${process.pid}\`);
        await sleep(400);
        return "done:" + job.data;
      },
    },
  },
};
`,
      );
      writeFileSync(
        join(dir, "broken.ts"),
        `
export default {
  begin() { throw new Error("cannot reach the database"); },
  jobs: { work: { min_processes: 1, max_processes: 2, handler: () => "never" } },
};
`,
      );
      return { namespaces: [join(dir, "slow.ts"), join(dir, "broken.ts")] };
    },
  },
];

for (const k of KINDS) {
  describe(`gearbox drive with a ${k.kind}`, () => {
    test("scales with the queue, replaces killed workers, shows a crash loop, answers the console and drains on SIGTERM", {
      timeout: 120_000,
    }, async () => {
      const peers = new Peers();
      const server = await startGearbox();
      const dir = mkdtempSync(join(tmpdir(), "gearbox-drive-"));
      const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
      const admin = new AdminClient({ server: `127.0.0.1:${server.port}` });
      try {
        const { driver, consolePort, log } = await startDriver(peers, server, dir, k.setup(dir));

        // min: one process at start.
        const first = await waitForJob(consolePort, k.job, "one process", (s) => s.current === 1 && s.processes.length === 1);
        assert.equal(first.min, 1);
        assert.equal(first.max, 3);

        // Queued jobs scale it to max, never beyond.
        const bg = await client.submitMultipleJobs(
          Array.from({ length: 9 }, (_, i) => ({ function: k.job, data: `bg${i}`, background: true })),
        );
        assert.ok(bg.every((r) => r.state === "CREATED"));
        let peak = 0;
        await waitForJob(consolePort, k.job, "max processes", (s) => {
          peak = Math.max(peak, s.current);
          return s.current === 3;
        });
        await waitUntil(
          "the queue is drained",
          async () => ((await admin.status()).find((r) => r.function === k.job)?.queued ?? 0) === 0,
          20_000,
        );
        assert.ok(peak <= 3);
        assert.match(log(), /scaling job="[^"]+" decision="jobs waiting: \d+ waiting/);

        // Idle time brings it back to min.
        await waitForJob(consolePort, k.job, "back to min", (s) => s.current === 1 && s.processes.length === 1);
        assert.match(log(), /stopping process job="[^"]+" pid=\d+ reason="idle: /);
        const afterIdle = await jobStatus(consolePort, k.job);
        assert.ok(afterIdle.lastrun > 0, "lastrun is kept");

        // A killed worker is replaced.
        const victim = afterIdle.processes[0]!.pid;
        process.kill(victim, "SIGKILL");
        const replaced = await waitForJob(
          consolePort,
          k.job,
          "a replacement",
          (s) => s.current === 1 && s.processes.length === 1 && s.processes[0]!.pid !== victim,
        );
        assert.notEqual(replaced.processes[0]!.pid, victim);
        assert.match(log(), new RegExp(`process died job="[^"]+" pid=${victim} how="signal SIGKILL"`));
        assert.match(replaced.lasterror_msg, new RegExp(`process ${victim} died`));

        // A worker that dies at once: crash-loop state, with restarts bounded by the growing delay.
        const crashing = await waitForJob(consolePort, k.crashJob, "crash loop", (s) => s.state === "crash-loop", 20_000);
        assert.match(crashing.lasterror_msg, /died \(exit code \d+\)/);
        const startsAt = (log().match(new RegExp(`process started job="${k.crashJob.replace(/[:]/g, "\\$&")}"`, "g")) ?? []).length;
        await sleep(3000);
        const startsLater = (log().match(new RegExp(`process started job="${k.crashJob.replace(/[:]/g, "\\$&")}"`, "g")) ?? []).length;
        assert.ok(
          startsLater - startsAt <= 4,
          `at most one restart a second once the delay is at its cap (saw ${startsLater - startsAt} in 3 s)`,
        );
        assert.match((await consoleCommand(consolePort, "status")).find((l) => l.startsWith(k.crashJob + "\t"))!, /\tcrash-loop\t/);
        assert.match(log(), /ERROR crash loop: process died again/);

        // The console answers every command.
        const status = await consoleCommand(consolePort, "status");
        // "restarting" until the replacement of the killed process has lived stable_after.
        assert.ok(status.some((l) => new RegExp(`^${k.job}\t1\t3\t1\t(ok|restarting)\t`).test(l)), status.join("\n"));
        const help = await consoleCommand(consolePort, "help");
        for (
          const c of ["status", "show", "set_min_processes", "set_max_processes", "set_processes", "kill", "killall", "quit", "shutdown"]
        ) {
          assert.ok(help.some((l) => l.startsWith(c)), `help lists ${c}`);
        }
        const shown = await consoleCommand(consolePort, `show ${k.job}`);
        assert.match(shown[1]!, /^\d+\t(idle|busy|starting)\t/);
        assert.deepEqual(await consoleCommand(consolePort, `set_min_processes ${k.job} 2`), ["OK"]);
        await waitForJob(consolePort, k.job, "min 2", (s) => s.current === 2);
        assert.deepEqual(await consoleCommand(consolePort, `set_max_processes ${k.job} 2`), ["OK"]);
        assert.deepEqual(await consoleCommand(consolePort, `set_processes ${k.job} 1 3`), ["OK"]);
        assert.deepEqual(await consoleCommand(consolePort, `set_processes ${k.job} 3 1`), [
          "ERR invalid_value: min 3 would be above max 1",
        ]);
        assert.deepEqual(await consoleCommand(consolePort, "set_min_processes nope 1"), ["ERR invalid_job_name: nope"]);
        assert.deepEqual(await consoleCommand(consolePort, `set_max_processes ${k.job} many`), [
          `ERR invalid_value: set_max_processes JOB N (whole numbers)`,
        ]);
        // With min back at 1 the idle surplus process goes; kill the one that stays.
        const settled = await waitForJob(consolePort, k.job, "back to one process", (s) => s.processes.length === 1);
        const pids = settled.processes.map((p) => p.pid);
        assert.deepEqual(await consoleCommand(consolePort, `kill ${pids[0]}`), ["OK"]);
        assert.deepEqual(await consoleCommand(consolePort, "kill 1"), ["ERR invalid_pid: 1"]);
        assert.deepEqual(await consoleCommand(consolePort, `killall ${k.crashJob}`), ["OK"]);
        assert.deepEqual(await consoleCommand(consolePort, "killall nope"), ["ERR invalid_job_name: nope"]);
        assert.deepEqual(await consoleCommand(consolePort, "frobnicate"), ["ERR unknown_command: frobnicate (try help)"]);
        await waitForJob(
          consolePort,
          k.job,
          "the killed process replaced",
          (s) => s.current >= 1 && !s.processes.some((p) => p.pid === pids[0]),
        );

        // SIGTERM drains: running jobs finish, none is lost.
        const running: Promise<JobRequest>[] = Array.from(
          { length: 3 },
          (_, i) => client.submitJob(k.job, `fg${i}`, { timeoutMs: 30_000 }),
        );
        await waitForJob(consolePort, k.job, "jobs running", (s) => s.processes.some((p) => p.state === "busy"));
        driver.kill("SIGTERM");
        const exit = await driver.waitExit(30_000);
        assert.equal(exit.code, 0, exit.stderr);
        // Jobs the draining workers did not take wait on the server for the next worker: nothing is lost.
        const survivor = peers.start(gearboxCommand()[0]!, [
          ...gearboxCommand().slice(1),
          "work",
          k.job,
          "-s",
          `127.0.0.1:${server.port}`,
          "--",
          "sh",
          "-c",
          'printf "late:"; cat',
        ]);
        const results = await Promise.all(running);
        survivor.kill("SIGTERM");
        for (const [i, r] of results.entries()) {
          assert.equal(r.state, "COMPLETE", `fg${i}: ${r.state} ${r.error?.message ?? ""}`);
          assert.match(String(r.result), new RegExp(`^(done|late):fg${i}$`));
        }
        assert.ok(results.some((r) => String(r.result).startsWith("done:")), "at least one job finished in a draining worker");
        assert.match(log(), /INFO {2}draining processes=\d+/);
        assert.match(log(), /INFO {2}driver stopped/);

        // The logfile holds every child's output lines, with pid and job.
        const lines = log().split("\n").filter((l) => /working on bg\d/.test(l));
        assert.ok(lines.length >= 9, `each of the 9 jobs logged its line (${lines.length})`);
        for (const l of lines) {
          const m = /working on (bg\d) in (\d+) job="([^"]+)" pid=(\d+) stream="(stdout|stderr)"/.exec(l);
          assert.ok(m, l);
          assert.equal(m[3], k.job);
          if (k.kind.includes("module")) assert.equal(m[2], m[4], "the pid in the line is the process the log names");
        }
      } finally {
        client.close();
        admin.close();
        await peers.killAll();
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe("gearbox drive's console shutdown and settings", () => {
  test("the console's shutdown drains and stops the driver", { timeout: 60_000 }, async () => {
    const peers = new Peers();
    const server = await startGearbox();
    const dir = mkdtempSync(join(tmpdir(), "gearbox-drive-"));
    try {
      const { driver, consolePort, log } = await startDriver(peers, server, dir, KINDS[0]!.setup(dir));
      await waitForJob(consolePort, "slow_shell", "one process", (s) => s.current === 1);
      assert.deepEqual(await consoleCommand(consolePort, "shutdown"), ["OK"]);
      assert.equal((await driver.waitExit(20_000)).code, 0);
      assert.match(log(), /shutdown from the console/);
      assert.match(log(), /driver stopped/);
    } finally {
      await peers.killAll();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a bad config names the key and the file, and the driver does not start", async () => {
    const peers = new Peers();
    const dir = mkdtempSync(join(tmpdir(), "gearbox-drive-"));
    try {
      const [bin, ...pre] = gearboxCommand();
      for (
        const [body, want] of [
          ["interval: -1\n", /bad\.yaml: interval must be between/],
          [
            "jobs:\n  x:\n    command: [/bin/true]\n    min_processes: 5\n    max_processes: 2\n",
            /bad\.yaml: jobs\.x: min_processes \(5\) is above max_processes \(2\)/,
          ],
          ["jobs:\n  x: { cmd: [/bin/true] }\n", /bad\.yaml: jobs\.x\.command is missing/],
          ["colour: blue\n", /bad\.yaml: unknown setting "colour"/],
          ["jobs: {}\n", /no jobs/],
        ] as const
      ) {
        writeFileSync(join(dir, "bad.yaml"), body);
        const r = await peers.start(bin!, [...pre, "drive", "--config", join(dir, "bad.yaml")]).waitExit(10_000);
        assert.equal(r.code, EXIT.config, r.stderr);
        assert.match(r.stderr, want);
      }
    } finally {
      await peers.killAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
