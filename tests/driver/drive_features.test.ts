/**
 * `gearbox drive`'s other promises (issue 5), each through the compiled
 * binary: a job timeout kills exactly the process that overran, the drain
 * timeout escalates to SIGKILL, failing jobs set lasterror, unknown
 * functions trigger unknown_job and its hook, the console token, process
 * groups, --daemonize with --pidfile, and the shipped examples.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, jsonEncoder } from "../../mod.ts";
import { freePort, waitForPort } from "../helpers/free_port.ts";
import { Peers } from "../helpers/peers.ts";
import { gearboxCommand, ROOT, type RunningServer, startGearbox } from "../helpers/servers.ts";
import { cleanUpAfter, consoleCommand, jobStatus, startDriver, waitForJob } from "../helpers/drive.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const MODULE = `
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export default {
  prefix: "t.",
  jobs: {
    run: {
      min_processes: 2,
      max_processes: 2,
      timeout: 1,
      handler: async (job: { data: string }) => {
        if (job.data === "hang") await sleep(30_000);
        if (job.data === "bad") throw new Error("input is not an image");
        return "ok";
      },
    },
    // No timeout: only the drain timeout ends it.
    long: { handler: async () => { await sleep(20_000); return "late"; } },
    a: { process_group: "pair", handler: () => "from a" },
    b: { process_group: "pair", max_processes: 2, handler: () => "from b" },
  },
};
`;

describe("gearbox drive features", () => {
  const peers = new Peers();
  let server: RunningServer;
  let dir: string;
  let client: Client;
  cleanUpAfter(() => ({ client, peers, server, dir }));

  test("start a server and a module", async () => {
    server = await startGearbox();
    dir = mkdtempSync(join(tmpdir(), "gearbox-drive-features-"));
    writeFileSync(join(dir, "t.ts"), MODULE);
    client = new Client({ servers: [`127.0.0.1:${server.port}`] });
  });

  test("a job that overruns its timeout fails, only its own process exits and is replaced, and a failing job sets lasterror", {
    timeout: 60_000,
  }, async () => {
    const { driver, consolePort, log } = await startDriver(peers, server, dir, { namespaces: [join(dir, "t.ts")], max_idle_time: 0 });
    const before = await waitForJob(
      consolePort,
      "t.run",
      "two processes",
      (s) => s.processes.length === 2 && s.processes.every((p) => p.state === "idle"),
    );
    const bad = await client.submitJob("t.run", "bad", { timeoutMs: 10_000 });
    assert.equal(bad.state, "FAILED");
    const failed = await waitForJob(consolePort, "t.run", "lasterror set", (s) => s.lasterror_msg === "input is not an image");
    assert.ok(failed.lasterror > 0 && failed.lastrun > 0);
    assert.equal(failed.state, "failing", "the console's state says the last job failed");

    const hang = client.submitJob("t.run", "hang", { timeoutMs: 10_000 });
    const busy = await waitForJob(consolePort, "t.run", "a busy process", (s) => s.processes.some((p) => p.state === "busy"));
    const hung = busy.processes.find((p) => p.state === "busy")!.pid;
    const other = busy.processes.find((p) => p.pid !== hung)!.pid;
    const t0 = Date.now();
    // The client hears of the failure at the timeout, not when a waiting time of its own runs out.
    assert.equal((await hang).state, "FAILED");
    assert.ok(Date.now() - t0 < 5000, `failed ${Date.now() - t0} ms after it started`);
    await waitUntil(
      "the hung process exits",
      () => new RegExp(`job timeout: the process fails the job and exits job="t\\.run" pid=${hung}`).test(log()),
      10_000,
    );
    const after = await waitForJob(
      consolePort,
      "t.run",
      "replaced",
      (s) => s.processes.length === 2 && !s.processes.some((p) => p.pid === hung),
    );
    assert.ok(after.processes.some((p) => p.pid === other), "the other process was left alone");
    assert.ok(before.processes.some((p) => p.pid === other));
    assert.equal(after.lasterror_msg, "timed out after 1 s (exit status 124)");
    assert.doesNotMatch(log(), new RegExp(`process died job="t\\.run" pid=${hung}`), "leaving after a timeout is not a crash");

    // A process group: two functions, one set of processes.
    const pair = await jobStatus(consolePort, "t.pair");
    assert.equal(pair.max, 2);
    assert.equal((await client.submitJob("t.a", "x", { timeoutMs: 5000 })).result, "from a");
    assert.equal((await client.submitJob("t.b", "x", { timeoutMs: 5000 })).result, "from b");

    driver.kill("SIGTERM");
    assert.equal((await driver.waitExit(20_000)).code, 0);
  });

  test("a job that outlives the drain timeout is killed, and the driver still exits", { timeout: 60_000 }, async () => {
    const { driver, consolePort, log } = await startDriver(peers, server, dir, {
      namespaces: [join(dir, "t.ts")],
      drain_timeout: 1,
      max_idle_time: 0,
    });
    await waitForJob(consolePort, "t.long", "one process", (s) => s.processes.length === 1);
    void client.submitJob("t.long", "slow", { background: true });
    await waitForJob(consolePort, "t.long", "a busy process", (s) => s.processes.some((p) => p.state === "busy"));
    const t0 = Date.now();
    driver.kill("SIGTERM");
    assert.equal((await driver.waitExit(15_000)).code, 0);
    assert.ok(Date.now() - t0 < 8000, `exited ${Date.now() - t0} ms after SIGTERM`);
    assert.match(log(), /WARN {2}drain timeout: killing job="t\.long" pid=\d+/);
  });

  test("an operator's console session left open does not keep a stopped driver alive: SIGTERM exits and the session is closed", {
    timeout: 60_000,
  }, async () => {
    const { driver, consolePort } = await startDriver(peers, server, dir, { namespaces: [join(dir, "t.ts")] });
    const session = connect(consolePort, "127.0.0.1");
    let closed = false;
    session.on("close", () => (closed = true));
    session.on("error", () => {});
    session.write("status\n");
    await new Promise((r) => session.once("data", r)); // the session is served, then left idle
    const t0 = Date.now();
    driver.kill("SIGTERM");
    assert.equal((await driver.waitExit(15_000)).code, 0);
    assert.ok(Date.now() - t0 < 8000, `exited ${Date.now() - t0} ms after SIGTERM`);
    await waitUntil("the console session closed", () => closed);
  });

  test("queued jobs that no configured job handles are logged as unknown_job and run the hook", { timeout: 60_000 }, async () => {
    const mark = join(dir, "unknown.txt");
    const { driver, log } = await startDriver(peers, server, dir, {
      jobs: { idle_job: { command: ["cat"], min_processes: 1 } },
      unknown_job_command: `echo "$GEARBOX_FUNCTION $GEARBOX_QUEUED" >> ${mark}`,
    });
    await client.submitJob("nobody_does_this", "x", { background: true });
    await waitUntil("the hook ran", () => existsSync(mark) && readFileSync(mark, "utf8").includes("nobody_does_this 1"), 10_000);
    assert.match(log(), /unknown_job: queued jobs that no configured job handles function="nobody_does_this" queued=1/);
    driver.kill("SIGTERM");
    await driver.waitExit(20_000);
  });

  test("with a console token, commands wait for auth", { timeout: 60_000 }, async () => {
    const { driver, consolePort } = await startDriver(peers, server, dir, {
      jobs: { idle_job: { command: ["cat"] } },
      console_token: "s3cret",
    });
    assert.match((await consoleCommand(consolePort, "status"))[0]!, /^ERR auth_required/);
    assert.deepEqual(await consoleCommand(consolePort, "status", "wrong"), ["ERR auth_required: send `auth TOKEN` first"]);
    assert.match((await consoleCommand(consolePort, "status", "s3cret"))[0]!, /^idle_job\t1\t1\t/);
    driver.kill("SIGTERM");
    await driver.waitExit(20_000);
  });

  test("--daemonize detaches, --pidfile holds the pid until the driver stops", { timeout: 60_000 }, async () => {
    const consolePort = await freePort();
    const pidfile = join(dir, "drive.pid");
    const [bin, ...pre] = gearboxCommand();
    const r = await peers.start(bin!, [
      ...pre,
      "drive",
      "--daemonize",
      "--pidfile",
      pidfile,
      "--logfile",
      join(dir, "daemon.log"),
      "-s",
      `127.0.0.1:${server.port}`,
      "--console-port",
      String(consolePort),
      "--jobs",
      JSON.stringify({ d: { command: ["cat"] } }),
    ]).waitExit(10_000);
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(/running as pid (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(pid > 0, r.stdout);
    await waitForPort(consolePort, 15_000);
    await waitUntil("the pidfile", () => existsSync(pidfile) && Number(readFileSync(pidfile, "utf8")) === pid, 10_000);
    assert.deepEqual(await consoleCommand(consolePort, "shutdown"), ["OK"]);
    await waitUntil("the pidfile is removed", () => !existsSync(pidfile), 15_000);
  });

  test(
    "after the job server restarts, the driver reads its queues again and the workers take jobs again",
    { timeout: 60_000 },
    async () => {
      const own = await startGearbox();
      const port = own.port;
      let restarted: RunningServer | undefined;
      const c = new Client({ servers: [`127.0.0.1:${port}`] });
      try {
        const { driver, consolePort, log } = await startDriver(peers, own, dir, {
          jobs: { echo_job: { command: ["sh", "-c", "sleep 0.3; cat"], min_processes: 1, max_processes: 2 } },
          max_idle_time: 3600,
        });
        await waitForJob(consolePort, "echo_job", "up", (s) => s.processes.some((p) => p.state === "idle"));
        assert.equal((await c.submitJob("echo_job", "before", { timeoutMs: 5000 })).result, "before");
        await own.stop("SIGKILL");
        await waitUntil("the driver notices", () => /cannot read status from a server/.test(log()), 10_000);
        restarted = await startGearbox({ port });
        // Jobs queued on the new server: the driver must read its queue to start a second process.
        await c.submitMultipleJobs(Array.from({ length: 6 }, (_, i) => ({ function: "echo_job", data: `bg${i}`, background: true })));
        await waitForJob(consolePort, "echo_job", "scaled on the restarted server", (s) => s.current === 2);
        assert.equal((await c.submitJob("echo_job", "after", { timeoutMs: 15_000 })).result, "after");
        driver.kill("SIGTERM");
        assert.equal((await driver.waitExit(20_000)).code, 0);
      } finally {
        c.close();
        await restarted?.stop();
        await own.stop();
      }
    },
  );

  test("when the driver is SIGKILLed its worker processes notice and exit instead of lingering", { timeout: 60_000 }, async () => {
    const { driver, consolePort } = await startDriver(peers, server, dir, {
      jobs: { orphan_job: { command: ["cat"], min_processes: 2, max_processes: 2 } },
    });
    const pids = (await waitForJob(consolePort, "orphan_job", "two processes", (s) =>
      s.processes.length === 2 && s.processes.every((p) =>
        p.state === "idle"
      ))).processes.map((p) =>
        p.pid
      );
    driver.kill("SIGKILL");
    // A worker that exited but is not reaped yet (its parent is gone; init reaps it when it gets to it) is a zombie: it has exited.
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
      } catch {
        return false;
      }
      try {
        return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] !== "Z";
      } catch {
        return false;
      }
    };
    await waitUntil("the orphaned workers exit", () =>
      pids.every((p) =>
        !alive(p)
      ) || `still alive: ${pids.filter(alive).join(" ")}`, 30_000); // generous: once under a loaded CI this took over 10 s
  });

  test("the shipped example config and worker module run as the README says", { timeout: 60_000 }, async () => {
    const consolePort = await freePort();
    const logfile = join(dir, "example.log");
    const [bin, ...pre] = gearboxCommand();
    const driver = peers.start(bin!, [
      ...pre,
      "drive",
      "--config",
      `${ROOT}scripts/examples/drive.yaml`,
      "--namespaces",
      `${ROOT}scripts/examples/workers`,
      "-s",
      `127.0.0.1:${server.port}`,
      "--console-port",
      String(consolePort),
      "--logfile",
      logfile,
      "--interval",
      "0.2",
    ], { lifetimeMs: 60_000 });
    await waitForPort(consolePort, 15_000);
    await waitForJob(consolePort, "text::reverse", "up", (s) => s.processes.some((p) => p.state === "idle"));
    await waitForJob(consolePort, "shell_rev", "up", (s) => s.processes.some((p) => p.state === "idle"));
    assert.equal((await client.submitJob("text::reverse", "stressed", { timeoutMs: 5000 })).result, "desserts");
    assert.equal((await client.submitJob("shell_rev", "abc\n", { timeoutMs: 5000 })).result, "cba\n");
    const json = new Client({ servers: [`127.0.0.1:${server.port}`], encoder: jsonEncoder });
    try {
      assert.deepEqual((await json.submitJob("text::words", { text: "one two  three" }, { timeoutMs: 5000 })).result, { words: 3 });
    } finally {
      json.close();
    }
    const upper = await client.submitJob("text::slow_upper", "quiet", { timeoutMs: 5000 });
    assert.equal(upper.result, "QUIET");
    assert.equal(upper.status?.numerator, 4);
    assert.equal((await jobStatus(consolePort, "text::reverse")).max, 4, "job_runtime_attributes applied");
    const log = readFileSync(logfile, "utf8");
    assert.match(log, /text worker ready \(greeting: hello from text\.ts\) job="text::\w+" pid=\d+ stream="stdout"/);
    assert.match(log, /reversing job="shell_rev" pid=\d+ stream="stderr"/);
    driver.kill("SIGTERM");
    assert.equal((await driver.waitExit(20_000)).code, 0);
    await sleep(0);
  });
});
