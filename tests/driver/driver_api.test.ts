/**
 * The supervisor as a library (issue 12): `Driver` from mod.ts, in this
 * process, supervising real worker processes for a real gearbox server:
 * addJob (Gearman::Driver's add_job) with a module's methods and with a
 * command, getJobs/getJob/hasJob, namespaces loaded by run(), settings
 * checked as the command line checks them, and shutdown() stopping every
 * process.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, Driver, type DriverJob } from "../../mod.ts";

import { type RunningServer, startGearbox } from "../helpers/servers.ts";
import { consoleCommand } from "../helpers/drive.ts";
import { waitUntil } from "../helpers/wait.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the Driver class from mod.ts", () => {
  let server: RunningServer;
  let dir: string;
  let client: Client;
  before(async () => {
    server = await startGearbox();
    dir = mkdtempSync(join(tmpdir(), "gearbox-driver-api-"));
    client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    writeFileSync(
      join(dir, "words.ts"),
      `
export default {
  jobs: {
    reverse: { handler: (job: { data: string }) => [...job.data].reverse().join("") },
    shout: { handler: (job: { data: string }, options: { mark: string }) => job.data.toUpperCase() + options.mark },
    count: { min_processes: 0, max_processes: 3, handler: (job: { data: string }) => String(job.data.split(" ").length) },
  },
};
`,
    );
    writeFileSync(join(dir, "extra.ts"), `export default { prefix: "extra.", jobs: { ping: { handler: () => "pong" } } };`);
  });
  after(async () => {
    client?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("addJob, getJobs, getJob and hasJob describe the jobs, run() starts their processes, and shutdown() stops them all", {
    timeout: 60_000,
  }, async () => {
    const logfile = join(dir, "api.log");
    const driver = new Driver({
      server: [`127.0.0.1:${server.port}`],
      interval: 0.2,
      consolePort: "auto",
      logfile,
      loglevel: "debug",
      namespaces: [join(dir, "extra.ts")],
      workerOptions: { GLOBAL: { mark: "?" }, words: { mark: "!" } },
    });
    // Gearman::Driver's add_job: two methods of one module in the same processes, under one name.
    const pair = await driver.addJob({
      name: "pair",
      module: join(dir, "words.ts"),
      methods: ["reverse", "shout"],
      min_processes: 2,
      max_processes: 2,
    });
    assert.equal(pair.name, "words::pair", "the module's prefix comes first, as in Gearman::Driver");
    assert.deepEqual(pair.functions, ["words::reverse", "words::shout"]);
    assert.equal(pair.kind, "module");
    assert.deepEqual([pair.min, pair.max, pair.current], [2, 2, 0]);
    // One method, its own min/max from the module.
    const count = await driver.addJob({ name: "count", module: join(dir, "words.ts") });
    assert.deepEqual([count.name, count.min, count.max], ["words::count", 0, 3]);
    await driver.addJob({ name: "shell_rev", command: ["rev"], max_processes: 2, timeout: 10 });

    assert.equal(driver.hasJob("words::pair"), true);
    assert.equal(driver.hasJob("pair"), false);
    assert.equal(driver.getJob("nope"), undefined);
    await assert.rejects(
      driver.addJob({ name: "pair", module: join(dir, "words.ts"), methods: ["reverse"] }),
      /job words::pair is defined twice/,
    );
    await assert.rejects(
      driver.addJob({ name: "x", module: join(dir, "words.ts"), methods: ["missing"] }),
      /has no job "missing" \(it has: reverse, shout, count\)/,
    );
    await assert.rejects(
      driver.addJob({ name: "bad", command: ["cat"], min_processes: 3, max_processes: 1 }),
      /addJob: jobs\.bad: min_processes \(3\) is above max_processes \(1\)/,
    );

    const running = driver.run();
    let ended = false;
    void running.then(() => ended = true);
    let jobs: DriverJob[] = [];
    await waitUntil(
      "every job's processes are up",
      () => {
        jobs = driver.getJobs();
        return jobs.every((j) => j.processes.length === j.min && j.processes.every((p) => p.state === "idle")) ||
          JSON.stringify(jobs.map((j) => [j.name, j.processes]));
      },
      20_000,
      100,
    );
    assert.deepEqual(
      jobs.map((j) => j.name),
      ["extra.ping", "shell_rev", "words::count", "words::pair"],
      "ordered by name; namespaces loaded by run()",
    );
    assert.equal(driver.getJob("words::pair")!.processes.length, 2);

    assert.equal((await client.submitJob("words::reverse", "stressed", { timeoutMs: 10_000 })).result, "desserts");
    assert.equal((await client.submitJob("words::shout", "hey", { timeoutMs: 10_000 })).result, "HEY!", "worker options for the module");
    assert.equal(
      (await client.submitJob("words::count", "one two three", { timeoutMs: 10_000 })).result,
      "3",
      "a job with min 0 is started for its waiting job",
    );
    assert.equal((await client.submitJob("shell_rev", "abc", { timeoutMs: 10_000 })).result, "cba");
    assert.equal((await client.submitJob("extra.ping", "", { timeoutMs: 10_000 })).result, "pong");
    await waitUntil("lastrun is kept", () => (driver.getJob("words::pair")?.lastrun ?? 0) > 0);

    // The console is this driver's too.
    assert.ok(driver.consolePort! > 0);
    assert.match((await consoleCommand(driver.consolePort!, "status")).join("\n"), /^words::pair\t2\t2\t2\tok\t/m);

    // A job added while running starts its processes.
    await driver.addJob({ name: "late_cat", command: ["cat"] });
    await waitUntil("the late job is up", () => driver.getJob("late_cat")?.processes.some((p) => p.state === "idle") === true, 20_000, 100);
    assert.equal((await client.submitJob("late_cat", "meow", { timeoutMs: 10_000 })).result, "meow");

    const pids = driver.getJobs().flatMap((j) => j.processes.map((p) => p.pid));
    assert.ok(pids.length >= 5);
    assert.equal(ended, false, "run() waits while the driver runs");
    await driver.shutdown();
    await running;
    assert.ok(pids.every((pid) => !alive(pid)), `every process has exited: ${pids.filter(alive).join(" ")}`);
    assert.match(readFileSync(logfile, "utf8"), /INFO {2}driver stopped/);
  });

  test("a Driver's settings are checked as gearbox drive checks them", () => {
    assert.throws(() => new Driver({ interval: -1 }), /new Driver: interval must be between 0\.05 and 3600, got -1/);
    assert.throws(() => new Driver({ consolePort: 70000 }), /console_port must be between 0 and 65535/);
    assert.throws(() => new Driver({ colour: "blue" } as never), /unknown setting "colour"/);
    assert.doesNotThrow(() => new Driver({ consolePort: 0, maxIdleTime: 0 }));
  });

  test("run() without any job rejects and says how to add one", async () => {
    await assert.rejects(
      new Driver({ server: [`127.0.0.1:${server.port}`], consolePort: 0 }).run(),
      /no jobs: addJob\(\) first, or give namespaces or jobs/,
    );
  });
});
