/**
 * `gearbox submit`, `gearbox work`, `gearbox status`, `gearbox workers` and
 * `gearbox admin` end to end (issue 4): the compiled binary (when built, as
 * `npm test` does) against gearbox and Debian's gearmand, with real worker
 * programs and a real terminal (script(1)) for the progress bar.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { AdminClient, Client, Worker } from "../../mod.ts";
import { Peers } from "../helpers/peers.ts";
import { freePort } from "../helpers/free_port.ts";
import { gearboxCommand, HAVE_GEARMAND, haveCommand, type RunningServer, startGearbox, startGearmand } from "../helpers/servers.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const peers = new Peers();
after(() => peers.killAll());

const [BIN, ...PRE] = gearboxCommand();
/** Runs `gearbox ARGS...` (NO_COLOR, so tables are plain). */
function gearbox(args: string[], input?: string | Uint8Array) {
  return peers.start("env", ["NO_COLOR=1", BIN!, ...PRE, ...args], { input, lifetimeMs: 30_000 });
}

/** Stdout as UTF-8 (Proc keeps it as latin1 for byte-exact checks); the tables draw with box characters. */
const utf8 = (exit: { stdoutBytes: Buffer }) => exit.stdoutBytes.toString("utf8");

async function functionStatus(port: number, fn: string) {
  const admin = new AdminClient({ server: `127.0.0.1:${port}` });
  try {
    return (await admin.status()).find((s) => s.function === fn);
  } finally {
    admin.close();
  }
}

async function waitForWorkers(port: number, fn: string, n: number): Promise<void> {
  await waitUntil(`${n} workers for ${fn}`, async () => ((await functionStatus(port, fn))?.workers ?? 0) === n, 10_000);
}

describe("gearbox submit and gearbox work", () => {
  let server: RunningServer;
  let s: string;

  test("start a server", async () => {
    server = await startGearbox();
    s = `127.0.0.1:${server.port}`;
  });
  after(() => server?.stop());

  test("a job submitted from stdin runs through a shell worker and its stdout comes back", async () => {
    const w = gearbox(["work", "rev", "-s", s, "-c", "1", "--", "rev"]);
    await waitForWorkers(server.port, "rev", 1);
    const r = await gearbox(["submit", "rev", "-", "-s", s], "hello\n").ok(10_000);
    assert.equal(r.stdout, "olleh\n");
    await w.ok(10_000); // --count 1: the worker left after its job
  });

  test("payload bytes pass through unchanged, NULs and all", async () => {
    const w = gearbox(["work", "cat_fn", "-s", s, "-c", "1", "--", "cat"]);
    await waitForWorkers(server.port, "cat_fn", 1);
    const bytes = Buffer.from([0, 1, 2, 0xff, 0, 10, 13, 0x80]);
    const r = await gearbox(["submit", "cat_fn", "-s", s], bytes).ok(10_000);
    assert.deepEqual(r.stdoutBytes, bytes);
    await w.ok(10_000);
  });

  test("the worker program sees the job's handle, function and unique in its environment", async () => {
    const w = gearbox([
      "work",
      "env_fn",
      "-s",
      s,
      "-c",
      "1",
      "--",
      "sh",
      "-c",
      'printf "%s|%s|%s" "$GEARBOX_FUNCTION" "$GEARBOX_UNIQUE" "$GEARBOX_HANDLE"',
    ]);
    await waitForWorkers(server.port, "env_fn", 1);
    const r = await gearbox(["submit", "env_fn", "x", "-s", s, "--unique", "u-42"]).ok(10_000);
    assert.match(r.stdout, /^env_fn\|u-42\|H:\S+$/);
    await w.ok(10_000);
  });

  test("a worker program's non-zero exit fails the job with its stderr, and submit exits 3", async () => {
    const w = gearbox(["work", "broken", "-s", s, "-c", "1", "--", "sh", "-c", "echo 'no space left' >&2; exit 7"]);
    await waitForWorkers(server.port, "broken", 1);
    const r = await gearbox(["submit", "broken", "x", "-s", s]).waitExit(10_000);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no space left/);
    assert.equal(r.stdout, "");
    await w.ok(10_000);
  });

  test("a worker whose program cannot start exits 1 and gives the job back", async () => {
    const w = gearbox(["work", "ghost", "-s", s, "--", "/nonexistent/program"]);
    await waitForWorkers(server.port, "ghost", 1);
    const handle = (await gearbox(["submit", "ghost", "x", "-s", s, "--background"]).ok(10_000)).stdout.trim();
    const exit = await w.waitExit(10_000);
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /cannot run \/nonexistent\/program/);
    assert.match(exit.stderr, /goes back to the queue/);
    assert.match(handle, /^H:/);
    await waitUntil("the job is queued again", async () => {
      const st = await functionStatus(server.port, "ghost");
      return st?.queued === 1 && st.running === 0 && st.workers === 0;
    });
  });

  test("a worker program's exit status is the job's: exit 7 is shown as 7 by gearbox jobs show", async () => {
    const w = gearbox(["work", "exit7_fn", "-s", s, "--count", "1", "--", "sh", "-c", "echo quota >&2; exit 7"]);
    await waitForWorkers(server.port, "exit7_fn", 1);
    const handle = (await gearbox(["submit", "exit7_fn", "x", "-s", s, "--background"]).ok(10_000)).stdout.trim();
    await w.waitExit(10_000);
    let shown = "";
    await waitUntil("the job is in the dead set", async () => {
      shown = utf8(await gearbox(["jobs", "show", handle, "-s", s, "--json"]).waitExit(10_000));
      return /"state":\s*"failed"/.test(shown);
    });
    const job = JSON.parse(shown);
    assert.equal(String(job.exit_status), "7", shown);
    assert.match(JSON.stringify(job.failures), /quota/);
  });

  test("SIGTERM lets the running job finish before the worker exits", async () => {
    const w = gearbox(["work", "slow_fn", "-s", s, "--", "sh", "-c", "sleep 0.5; echo finished"]);
    await waitForWorkers(server.port, "slow_fn", 1);
    const sub = gearbox(["submit", "slow_fn", "x", "-s", s]);
    await waitUntil("the job runs", async () => (await functionStatus(server.port, "slow_fn"))?.running === 1);
    w.kill("SIGTERM");
    assert.equal((await sub.ok(10_000)).stdout, "finished\n");
    assert.equal((await w.waitExit(10_000)).code, 0);
  });

  test("WORK_DATA is streamed to stdout before the result, warnings go to stderr", async () => {
    const worker = new Worker({ servers: [s] });
    worker.register("chunks", async (job) => {
      job.sendData("one,");
      job.sendWarning("low disk");
      await sleep(20);
      job.sendData("two,");
      return "end";
    });
    void worker.work();
    try {
      const r = await gearbox(["submit", "chunks", "x", "-s", s]).ok(10_000);
      assert.equal(r.stdout, "one,two,end");
      assert.match(r.stderr, /warning: low disk/);
    } finally {
      await worker.stop();
    }
  });

  test(
    "WORK_STATUS draws a progress bar on a terminal",
    { skip: haveCommand("script") ? false : "script(1) is not installed" },
    async () => {
      const worker = new Worker({ servers: [s] });
      worker.register("progress", async (job) => {
        for (let i = 1; i <= 4; i++) {
          job.sendStatus(i, 4);
          await sleep(150);
        }
        return "ok";
      });
      void worker.work();
      try {
        const cmd = [BIN!, ...PRE, "submit", "progress", "x", "-s", s].map((a) => `'${a}'`).join(" ");
        const r = await peers.start("script", ["-qec", cmd, "/dev/null"], { lifetimeMs: 20_000 }).ok(10_000);
        const screen = r.stdoutBytes.toString("utf8");
        assert.match(screen, /[█░]+ \d\/4 \d+%/);
        assert.match(screen, /ok/);
      } finally {
        await worker.stop();
      }
    },
  );

  test("exit statuses tell timeout (4), unreachable (2), refused (1), bad usage (64)", async () => {
    assert.equal((await gearbox(["submit", "nobody_fn", "x", "-s", s, "--timeout", "0.3"]).waitExit(10_000)).code, 4);
    const closed = await freePort();
    const unreachable = await gearbox(["submit", "f", "x", "-s", `127.0.0.1:${closed}`]).waitExit(10_000);
    assert.equal(unreachable.code, 2);
    assert.match(unreachable.stderr, /connection refused/);
    const admin = new AdminClient({ server: s });
    await admin.maxQueue("capped_fn", 1);
    admin.close();
    assert.equal((await gearbox(["submit", "capped_fn", "a", "-s", s, "--background"]).waitExit(10_000)).code, 0);
    const refused = await gearbox(["submit", "capped_fn", "b", "-s", s, "--background"]).waitExit(10_000);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /QUEUE_ERROR/);
    for (const bad of [["--priority", "urgent"], ["--at", "someday"], ["--timeout", "-1"], ["--attempts", "0"], ["--bogus"]]) {
      const r = await gearbox(["submit", "f", "x", "-s", s, ...bad]).waitExit(10_000);
      assert.equal(r.code, 64, `${bad.join(" ")}: ${r.stderr}`);
      assert.notEqual(r.stderr, "");
    }
  });

  test("--background prints the handle; --at schedules the job; --json describes the outcome", async () => {
    const bg = await gearbox(["submit", "later_fn", "x", "-s", s, "--at", "+1h"]).ok(10_000);
    const handle = bg.stdout.trim();
    assert.match(handle, /^H:\S+$/);
    const shown = await gearbox(["jobs", "show", handle, "-s", s, "--json"]).ok(10_000);
    const job = JSON.parse(shown.stdout);
    assert.equal(job.state, "scheduled");
    assert.ok(Math.abs(Number(job.run_at) - (Date.now() + 3_600_000)) < 60_000, `run_at ${job.run_at}`);
    const w = gearbox(["work", "json_fn", "-s", s, "-c", "1", "--", "tr", "a-z", "A-Z"]);
    await waitForWorkers(server.port, "json_fn", 1);
    const out = JSON.parse((await gearbox(["submit", "json_fn", "abc", "-s", s, "--json"]).ok(10_000)).stdout);
    assert.equal(out.state, "COMPLETE");
    assert.equal(out.result, "ABC");
    assert.equal(out.connectionAttempts, 1);
    await w.ok(10_000);
  });

  test("submit fails over to the next --server when the first is down", async () => {
    const closed = await freePort();
    const w = gearbox(["work", "fo_fn", "-s", s, "-c", "1", "--", "echo", "-n", "served"]);
    await waitForWorkers(server.port, "fo_fn", 1);
    const r = await gearbox(["submit", "fo_fn", "x", "-s", `127.0.0.1:${closed},${s}`, "--json"]).ok(10_000);
    const out = JSON.parse(r.stdout);
    assert.equal(out.result, "served");
    assert.equal(out.server, s);
    await w.ok(10_000);
  });
});

const ADMIN_TARGETS = [
  { name: "gearbox", available: true, start: () => startGearbox() },
  { name: "gearmand", available: HAVE_GEARMAND, start: () => startGearmand() },
];

for (const target of ADMIN_TARGETS) {
  describe(`gearbox status, workers and admin against ${target.name}`, {
    skip: target.available ? false : `${target.name} is not installed`,
  }, () => {
    test("tables, --json, several servers and exit statuses", async () => {
      const server = await target.start();
      const s = `127.0.0.1:${server.port}`;
      const worker = new Worker({ servers: [s], clientId: "table-test" });
      worker.register("resize", () => "x");
      void worker.work();
      const client = new Client({ servers: [s] });
      try {
        await client.submitJob("thumbnail", "x", { background: true });
        await waitForWorkers(server.port, "resize", 1);

        const status = await gearbox(["status", "-s", s]).ok(10_000);
        assert.match(utf8(status), /FUNCTION\s*│\s*QUEUED\s*│\s*RUNNING\s*│\s*WORKERS/);
        assert.match(utf8(status), /thumbnail\s*│\s*1\s*│\s*0\s*│\s*0/);
        assert.match(utf8(status), /resize\s*│\s*0\s*│\s*0\s*│\s*1/);
        assert.equal(utf8(status).split("\n").filter((l) => l.startsWith("├")).length, 1, "one rule, under the heads");
        const json = JSON.parse((await gearbox(["status", "-s", s, "--json"]).ok(10_000)).stdout);
        assert.deepEqual(json.find((r: { function: string }) => r.function === "thumbnail"), {
          function: "thumbnail",
          queued: 1,
          running: 0,
          workers: 0,
        });
        const prio = JSON.parse((await gearbox(["status", "--priority", "-s", s, "--json"]).ok(10_000)).stdout);
        assert.deepEqual(prio.find((r: { function: string }) => r.function === "thumbnail"), {
          function: "thumbnail",
          high: 0,
          normal: 1,
          low: 0,
          workers: 0,
        });

        const workers = await gearbox(["workers", "-s", s]).ok(10_000);
        assert.match(utf8(workers), /127\.0\.0\.1\s*│\s*table-test\s*│\s*resize/);
        const wj = JSON.parse((await gearbox(["workers", "-s", s, "--json"]).ok(10_000)).stdout);
        assert.ok(wj.some((w: { clientId: string; functions: string[] }) => w.clientId === "table-test" && w.functions.includes("resize")));

        const version = await gearbox(["admin", "version", "-s", s]).ok(10_000);
        assert.match(utf8(version), /OK \S+/);
        const jobs = await gearbox(["admin", "show", "jobs", "-s", s]).ok(10_000);
        assert.match(utf8(jobs), /HANDLE\s*│\s*RETRIES/);
        assert.match(utf8(jobs), /H:\S+/);
        const bad = await gearbox(["admin", "no_such_command", "-s", s]).waitExit(10_000);
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /refused: .*UNKNOWN_COMMAND/i);

        const closed = await freePort();
        const both = await gearbox(["status", "-s", `${s},127.0.0.1:${closed}`]).waitExit(10_000);
        assert.equal(both.code, 2);
        assert.match(utf8(both), /SERVER\s*│\s*FUNCTION/);
        assert.match(utf8(both), new RegExp(`${s.replaceAll(".", "\\.")}\\s*│\\s*thumbnail`));
        assert.match(both.stderr, new RegExp(`^gearbox status: 127\\.0\\.0\\.1:${closed}: connection refused`, "m"));
      } finally {
        client.close();
        await worker.stop();
        await server.stop();
      }
    });
  });
}
