/**
 * Issue 12: a setup ported from Perl's Gearman::Driver means in
 * `gearbox drive` what it meant there, through the compiled binary against
 * a real gearbox server: max_idle_time 0 stops spare processes at once,
 * console_port 0 turns the console off, jobs scheduled for later keep no
 * process busy, every failure (a workload that does not decode, a throw, a
 * timeout) shows in lasterror and the console's state, a timed-out job is
 * a failure the server's retry policy handles (not a lost worker offered
 * again and again), and worker modules may bring their own encode and
 * decode functions.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminClient, Client } from "../../mod.ts";
import { Peers } from "../helpers/peers.ts";
import { gearboxCommand, type RunningServer, startGearbox } from "../helpers/servers.ts";
import { EXIT } from "../../src/cli/exit_status.ts";
import { consoleCommand, jobStatus, startDriver, waitForJob } from "../helpers/drive.ts";
import { waitUntil } from "../helpers/wait.ts";

describe("a Gearman::Driver setup in gearbox drive", () => {
  const peers = new Peers();
  let server: RunningServer;
  let dir: string;
  let client: Client;
  let admin: AdminClient;
  before(async () => {
    server = await startGearbox();
    dir = mkdtempSync(join(tmpdir(), "gearbox-drive-meanings-"));
    client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    admin = new AdminClient({ server: `127.0.0.1:${server.port}` });
  });
  after(async () => {
    client?.close();
    admin?.close();
    await peers.killAll();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("max_idle_time 0 stops a spare process as soon as it has no job, as in Gearman::Driver", { timeout: 60_000 }, async () => {
    const { driver, consolePort, log } = await startDriver(peers, server, dir, {
      jobs: { spare_job: { command: ["sh", "-c", "sleep 0.3; cat"], min_processes: 1, max_processes: 3 } },
      max_idle_time: 0,
    });
    await waitForJob(consolePort, "spare_job", "one process", (s) => s.current === 1);
    await client.submitMultipleJobs(Array.from({ length: 9 }, (_, i) => ({ function: "spare_job", data: `j${i}`, background: true })));
    await waitForJob(consolePort, "spare_job", "scaled up", (s) => s.current === 3);
    // Before issue 12, 0 meant "never": the spares stayed for good.
    await waitForJob(consolePort, "spare_job", "back to min", (s) => s.current === 1, 10_000);
    assert.match(log(), /stopping process job="spare_job" pid=\d+ reason="idle: .*with no job \(max_idle_time 0\)"/);
    driver.kill("SIGTERM");
    assert.equal((await driver.waitExit(20_000)).code, 0);
  });

  test("console_port 0 turns the console off, and the jobs are still served", { timeout: 60_000 }, async () => {
    const { driver, consolePort, log } = await startDriver(peers, server, dir, {
      jobs: { quiet_job: { command: ["cat"] } },
      console_port: 0,
    });
    assert.equal(consolePort, 0);
    assert.match(log(), /driver started .*console="off"/);
    assert.equal((await client.submitJob("quiet_job", "still here", { timeoutMs: 10_000 })).result, "still here");
    driver.kill("SIGTERM");
    assert.equal((await driver.waitExit(20_000)).code, 0);
  });

  test("console_port takes a port, 0 or auto, and says so when given anything else", async () => {
    const [bin, ...pre] = gearboxCommand();
    const r = await peers.start(bin!, [...pre, "drive", "--console-port", "soon", "--jobs", '{"x":{"command":["cat"]}}']).waitExit(10_000);
    assert.equal(r.code, EXIT.config, r.stderr);
    assert.match(r.stderr, /console_port must be an integer, got "soon" \(or auto: a free port\)/);
    const help = await peers.start(bin!, [...pre, "drive", "--help"]).waitExit(10_000);
    assert.match(help.stdout.replace(/\s+/g, " "), /0 = no console \(as Gearman::Driver\), auto = a free port/);
    assert.match(help.stdout.replace(/\s+/g, " "), /0 = at once \(Gearman::Driver's default is 0\) \(default: 60\)/);
  });

  test(
    "jobs scheduled for later do not count as waiting: spare processes still stop after max_idle_time",
    { timeout: 60_000 },
    async () => {
      const { driver, consolePort, log } = await startDriver(peers, server, dir, {
        jobs: { later_job: { command: ["sh", "-c", "sleep 0.3; cat"], min_processes: 1, max_processes: 3 } },
        max_idle_time: 0.5,
      });
      await waitForJob(consolePort, "later_job", "one process", (s) => s.current === 1);
      const inAnHour = new Date(Date.now() + 3600_000);
      const scheduled = await client.submitMultipleJobs(
        Array.from({ length: 3 }, (_, i) => ({ function: "later_job", data: `later${i}`, runAt: inAnHour })),
      );
      assert.ok(scheduled.every((r) => r.state === "CREATED"));
      await client.submitMultipleJobs(Array.from({ length: 9 }, (_, i) => ({ function: "later_job", data: `now${i}`, background: true })));
      await waitForJob(consolePort, "later_job", "scaled up for the due jobs", (s) => s.current === 3);
      const back = await waitForJob(consolePort, "later_job", "back to min while the scheduled jobs wait", (s) => s.current === 1, 15_000);
      assert.equal((back as unknown as { waiting: number }).waiting, 0, "scheduled jobs are not waiting");
      const row = (await admin.functions()).find((f) => f.function === "later_job")!;
      assert.equal(row.scheduled, 3, "the scheduled jobs are still on the server");
      assert.match(log(), /stopping process job="later_job" pid=\d+ reason="idle: /);
      driver.kill("SIGTERM");
      assert.equal((await driver.waitExit(20_000)).code, 0);
    },
  );

  test(
    "workloads that do not decode, handler throws and timeouts all set lasterror and the console's state",
    { timeout: 60_000 },
    async () => {
      writeFileSync(
        join(dir, "strict.ts"),
        `
export default {
  prefix: "strict.",
  jobs: {
    sum: {
      decode: "json",
      timeout: 1,
      handler: async (job: { data: { add?: number[]; hang?: boolean } }) => {
        if (job.data.hang) await new Promise((r) => setTimeout(r, 30_000));
        if (!Array.isArray(job.data.add)) throw new Error("add must be a list of numbers");
        return job.data.add.reduce((a, b) => a + b, 0);
      },
    },
  },
};
`,
      );
      const { driver, consolePort } = await startDriver(peers, server, dir, { namespaces: [join(dir, "strict.ts")] });
      await waitForJob(consolePort, "strict.sum", "up", (s) => s.processes.some((p) => p.state === "idle"));
      for (const bad of ["not json", "{", "[1,"]) {
        assert.equal((await client.submitJob("strict.sum", bad, { timeoutMs: 10_000 })).state, "FAILED");
      }
      // The client hears FAILED before the process's report reaches the driver: wait for all three reports.
      const inRow = (s: unknown) => (s as { failures_in_row: number }).failures_in_row;
      const undecodable = await waitForJob(consolePort, "strict.sum", "three decode failures", (s) => s.lasterror > 0 && inRow(s) === 3);
      assert.match(undecodable.lasterror_msg, /^the workload does not decode: /);
      assert.equal(undecodable.state, "failing");
      assert.equal((undecodable as unknown as { failures_in_row: number }).failures_in_row, 3);
      assert.match(
        (await consoleCommand(consolePort, "status")).find((l) => l.startsWith("strict.sum\t"))!,
        /\tfailing\t\d{4}-.*\t\d{4}-.*\tthe workload does not decode: /,
      );

      assert.equal((await client.submitJob("strict.sum", '{"add":[1,2]}', { timeoutMs: 10_000 })).result, "3");
      const ok = await jobStatus(consolePort, "strict.sum");
      assert.equal(ok.state, "ok", "a job that succeeds clears the failing state");
      assert.equal(ok.lasterror, undecodable.lasterror, "lasterror stays as it was");

      assert.equal((await client.submitJob("strict.sum", '{"add":"x"}', { timeoutMs: 10_000 })).state, "FAILED");
      const thrown = await waitForJob(
        consolePort,
        "strict.sum",
        "lasterror from a throw",
        (s) => s.lasterror_msg === "add must be a list of numbers",
      );
      assert.equal(thrown.state, "failing");

      assert.equal((await client.submitJob("strict.sum", '{"hang":true}', { timeoutMs: 10_000 })).state, "FAILED");
      const timedOut = await waitForJob(
        consolePort,
        "strict.sum",
        "lasterror from a timeout",
        (s) => s.lasterror_msg.startsWith("timed out"),
      );
      assert.equal(timedOut.lasterror_msg, "timed out after 1 s (exit status 124)");
      assert.equal(timedOut.state, "failing");
      driver.kill("SIGTERM");
      assert.equal((await driver.waitExit(20_000)).code, 0);
    },
  );

  test("a job that times out fails once and the server's retry policy decides: max_retries 0 runs it once, max_retries 1 twice", {
    timeout: 90_000,
  }, async () => {
    const marks = join(dir, "offers.txt");
    writeFileSync(
      join(dir, "sleepy.ts"),
      `
import { appendFileSync } from "node:fs";
export default {
  prefix: "sleepy.",
  jobs: {
    nap: {
      timeout: 1,
      handler: async (job: { handle: string; data: string }) => {
        appendFileSync(${JSON.stringify(marks)}, job.data + "\\n");
        await new Promise((r) => setTimeout(r, 30_000));
        return "woke";
      },
    },
  },
};
`,
    );
    const offers = (data: string) => existsSync(marks) ? readFileSync(marks, "utf8").split("\n").filter((l) => l === data).length : 0;
    const retrying = await startGearbox({ extra: ["--max-retries", "1", "--keep-failed-for", "600"] });
    const retryAdmin = new AdminClient({ server: `127.0.0.1:${retrying.port}` });
    const retryClient = new Client({ servers: [`127.0.0.1:${retrying.port}`] });
    try {
      // max_retries 0 (gearmand's way, the default): one run, then failed for good.
      const once = await startDriver(peers, server, dir, { namespaces: [join(dir, "sleepy.ts")], max_idle_time: 3600 });
      await waitForJob(once.consolePort, "sleepy.nap", "up", (s) => s.processes.some((p) => p.state === "idle"));
      const failedBefore = (await admin.functions()).find((f) => f.function === "sleepy.nap")?.failed ?? 0;
      await client.submitJob("sleepy.nap", "bg-once", { background: true });
      await waitUntil("the server has failed the job", async () => {
        const f = (await admin.functions()).find((r) => r.function === "sleepy.nap");
        return (f !== undefined && f.failed === failedBefore + 1 && f.high + f.normal + f.low + f.scheduled + f.running === 0) ||
          JSON.stringify(f);
      }, 20_000);
      assert.equal(offers("bg-once"), 1, "offered once: a timeout is not a lost worker");
      once.driver.kill("SIGTERM");
      assert.equal((await once.driver.waitExit(20_000)).code, 0);

      // max_retries 1: the failure is retried once, then the job fails for good and keeps both failures.
      const twice = await startDriver(peers, retrying, dir, { namespaces: [join(dir, "sleepy.ts")], max_idle_time: 3600 });
      await waitForJob(twice.consolePort, "sleepy.nap", "up", (s) => s.processes.some((p) => p.state === "idle"));
      const { handle } = await retryClient.submitJob("sleepy.nap", "bg-twice", { background: true });
      let shown: string[] = [];
      await waitUntil("the job has failed for good", async () => {
        shown = (await retryAdmin.command(`job show ${handle}`)).lines;
        return shown.includes("state\tfailed") || shown.join(" | ");
      }, 30_000);
      assert.equal(offers("bg-twice"), 2, "the first run and one retry");
      const failures = shown.filter((l) => l.startsWith("failure\t")).map((l) => l.split("\t")[2]);
      assert.deepEqual(failures, ["timed out after 1 s", "timed out after 1 s"]);
      assert.ok(shown.includes("exit_status\t124"), "the last failure's exit status is kept: 124, as timeout(1)");
      twice.driver.kill("SIGTERM");
      assert.equal((await twice.driver.waitExit(20_000)).code, 0);
    } finally {
      retryClient.close();
      retryAdmin.close();
      await retrying.stop();
    }
  });

  test("a process whose event loop is blocked past its job's timeout is killed by the driver", { timeout: 60_000 }, async () => {
    writeFileSync(
      join(dir, "stuck.ts"),
      `
export default {
  prefix: "stuck.",
  jobs: {
    spin: {
      timeout: 1,
      handler: () => {
        const end = Date.now() + 30_000;
        while (Date.now() < end) { /* no timer can fire in here */ }
        return "never";
      },
    },
  },
};
`,
    );
    const { driver, consolePort, log } = await startDriver(peers, server, dir, { namespaces: [join(dir, "stuck.ts")] });
    const up = await waitForJob(consolePort, "stuck.spin", "up", (s) => s.processes.length === 1 && s.processes[0]!.state === "idle");
    const pid = up.processes[0]!.pid;
    void client.submitJob("stuck.spin", "x", { background: true });
    await waitUntil(
      "the driver kills it",
      () => new RegExp(`job timeout: the process did not end the job, killing it job="stuck\\.spin" pid=${pid}`).test(log()),
      15_000,
    );
    const after = await waitForJob(consolePort, "stuck.spin", "replaced", (s) => s.processes.length === 1 && s.processes[0]!.pid !== pid);
    assert.match(after.lasterror_msg, new RegExp(`ran over 1 s and its process did not end it; process ${pid} killed`));
    driver.kill("SIGTERM");
    await driver.waitExit(20_000);
  });

  test("a worker module's own encode and decode functions read the workload and write the result", { timeout: 60_000 }, async () => {
    writeFileSync(
      join(dir, "pairs.ts"),
      `
export default {
  prefix: "pairs.",
  jobs: {
    count: {
      // Gearman::Driver's Decode/Encode methods, as functions: bytes in, bytes (or a string) out.
      decode: (bytes: Uint8Array, options: { separator: string }) => {
        const text = new TextDecoder().decode(bytes);
        const lines = text.split(options.separator).filter((l) => l !== "");
        for (const l of lines) if (!l.includes("=")) throw new Error("not a key=value line: " + l);
        return Object.fromEntries(lines.map((l) => l.split("=")));
      },
      encode: (n: number) => new TextEncoder().encode("pairs=" + n),
      handler: (job: { data: Record<string, string> }) => Object.keys(job.data).length,
    },
    upper: {
      encode: (s: string) => s.toUpperCase(),
      handler: (job: { data: string }) => job.data + "!",
    },
  },
};
`,
    );
    const { driver, consolePort } = await startDriver(peers, server, dir, {
      namespaces: [join(dir, "pairs.ts")],
      worker_options: { GLOBAL: { separator: ";" } },
    });
    await waitForJob(consolePort, "pairs.count", "up", (s) => s.processes.some((p) => p.state === "idle"));
    assert.equal((await client.submitJob("pairs.count", "a=1;b=2;c=3", { timeoutMs: 10_000 })).result, "pairs=3");
    assert.equal(
      (await client.submitJob("pairs.upper", "hey", { timeoutMs: 10_000 })).result,
      "HEY!",
      "a custom encode with the default text decode",
    );
    assert.equal((await client.submitJob("pairs.count", "a=1;oops", { timeoutMs: 10_000 })).state, "FAILED");
    const failed = await waitForJob(consolePort, "pairs.count", "lasterror", (s) => s.lasterror > 0);
    assert.equal(failed.lasterror_msg, "the workload does not decode: not a key=value line: oops");
    driver.kill("SIGTERM");
    assert.equal((await driver.waitExit(20_000)).code, 0);
  });

  test("a worker module's encode or decode that is neither a known name nor a function stops the driver at start", async () => {
    writeFileSync(join(dir, "wrong.ts"), `export default { jobs: { j: { decode: "yaml", handler: () => "" } } };`);
    const [bin, ...pre] = gearboxCommand();
    const r = await peers.start(bin!, [...pre, "drive", "--namespaces", join(dir, "wrong.ts"), "--console-port", "0"]).waitExit(10_000);
    assert.equal(r.code, EXIT.config, r.stderr);
    assert.match(r.stderr, /wrong\.ts: jobs\.j\.decode must be text, json, bytes or a function/);
  });

  describe("exit statuses are kept as given", () => {
    let keeping: RunningServer;
    before(async () => {
      // max_retries 0 (the default): a failure is the job's last, and the dead set keeps its exit status.
      keeping = await startGearbox({ extra: ["--keep-failed-for", "600"] });
    });
    after(async () => {
      await keeping?.stop();
    });

    /** `gearbox jobs show HANDLE --json` once the job has failed for good. */
    async function failedJob(handle: string): Promise<{ exit_status: string; failures: { message: string }[] }> {
      const [bin, ...pre] = gearboxCommand();
      let shown: { state?: string; exit_status: string; failures: { message: string }[] } | undefined;
      await waitUntil(
        `${handle} has failed`,
        async () => {
          const r = await peers.start(bin!, [...pre, "jobs", "show", handle, "--json", "-s", `127.0.0.1:${keeping.port}`]).waitExit(10_000);
          if (r.code !== 0) return r.stderr;
          shown = JSON.parse(r.stdout);
          return shown!.state === "failed" || r.stdout;
        },
        20_000,
        100,
      );
      return shown!;
    }

    test("a command job that exits 7 is stored with exit status 7 (gearbox jobs show), and one killed by SIGTERM with 143", {
      timeout: 60_000,
    }, async () => {
      const c = new Client({ servers: [`127.0.0.1:${keeping.port}`] });
      try {
        const { driver, consolePort } = await startDriver(peers, keeping, dir, {
          jobs: {
            code_job: {
              command: [
                "sh",
                "-c",
                'read -r x; case "$x" in seven) echo "seven is bad" >&2; exit 7;; term) kill -TERM $$;; esac; echo "ok $x"',
              ],
            },
          },
        });
        await waitForJob(consolePort, "code_job", "up", (s) => s.processes.some((p) => p.state === "idle"));
        const seven = await c.submitJob("code_job", "seven\n", { background: true });
        const shown = await failedJob(seven.handle!);
        assert.equal(shown.exit_status, "7");
        assert.deepEqual(shown.failures.map((f) => f.message), ["seven is bad (exit status 7)"]);
        assert.equal((await jobStatus(consolePort, "code_job")).lasterror_msg, "seven is bad (exit status 7)");

        const term = await c.submitJob("code_job", "term\n", { background: true });
        assert.equal((await failedJob(term.handle!)).exit_status, "143", "128 + SIGTERM's 15, as a shell says");
        assert.equal((await c.submitJob("code_job", "fine\n", { timeoutMs: 10_000 })).result, "ok fine\n");
        driver.kill("SIGTERM");
        assert.equal((await driver.waitExit(20_000)).code, 0);
      } finally {
        c.close();
      }
    });

    test(
      "a worker module fails a job with an exit status by throwing it or by job.fail, and a process that exits 3 says so in the log and lasterror",
      { timeout: 60_000 },
      async () => {
        writeFileSync(
          join(dir, "codes.ts"),
          `
export default {
  prefix: "codes.",
  jobs: {
    disk: { handler: () => { throw Object.assign(new Error("no disk left"), { exitStatus: 3 }); } },
    quota: { handler: (job: { fail(message: string, exitStatus: number): void }) => { job.fail("over quota", 5); } },
  },
};
`,
        );
        writeFileSync(
          join(dir, "exits.ts"),
          `
export default {
  begin() { throw Object.assign(new Error("no config file"), { exitStatus: 3 }); },
  jobs: { work: { handler: () => "never" } },
};
`,
        );
        const c = new Client({ servers: [`127.0.0.1:${keeping.port}`] });
        try {
          const { driver, consolePort, log } = await startDriver(peers, keeping, dir, {
            namespaces: [join(dir, "codes.ts"), join(dir, "exits.ts")],
            crash_loop_after: 100,
          });
          await waitForJob(consolePort, "codes.quota", "up", (s) => s.processes.some((p) => p.state === "idle"));
          await waitForJob(consolePort, "codes.disk", "up", (s) => s.processes.some((p) => p.state === "idle"));
          const disk = await c.submitJob("codes.disk", "x", { background: true });
          const quota = await c.submitJob("codes.quota", "x", { background: true });
          assert.equal((await failedJob(disk.handle!)).exit_status, "3");
          assert.equal((await failedJob(quota.handle!)).exit_status, "5");
          assert.equal(
            (await waitForJob(consolePort, "codes.disk", "lasterror", (s) => s.lasterror > 0)).lasterror_msg,
            "no disk left (exit status 3)",
          );
          assert.equal(
            (await waitForJob(consolePort, "codes.quota", "lasterror", (s) => s.lasterror > 0)).lasterror_msg,
            "over quota (exit status 5)",
          );

          const exits = await waitForJob(consolePort, "exits::work", "a process died", (s) => s.lasterror > 0);
          assert.match(exits.lasterror_msg, /^process \d+ died \(exit code 3\) after /);
          assert.match(log(), /process died job="exits::work" pid=\d+ how="exit code 3" exit_status=3 /);
          assert.match(log(), /worker process failed: no config file job="exits::work" pid=\d+ stream="stderr"/);
          driver.kill("SIGTERM");
          assert.equal((await driver.waitExit(20_000)).code, 0);
        } finally {
          c.close();
        }
      },
    );
  });
});
