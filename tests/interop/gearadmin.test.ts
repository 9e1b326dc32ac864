/**
 * Interop with the unmodified `gearadmin` tool (gearman-tools 1.1.20): every
 * option it has, against every available server target. gearadmin sends one
 * text command per connection, prints the reply (dropping an `OK ` prefix)
 * and prints `ERR` replies on stderr as `Error: <rest of line>`, exiting 0.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TARGETS } from "../helpers/servers.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { admin, MISSING, parseStatus, Peers, serveTarget, skipIf, statusOf, waitForStatus } from "../helpers/peers.ts";
import { waitUntil } from "../helpers/wait.ts";

const T = { timeout: 20_000 };
const CAN_DO = 1, SUBMIT_JOB = 7, JOB_CREATED = 8, GRAB_JOB = 9, JOB_ASSIGN = 11, SET_CLIENT_ID = 22;

for (const target of TARGETS) {
  describe(`gearadmin against ${target.name}`, () => {
    const skip = skipIf(!target.available && `${target.name} is not installed`, MISSING.gearadmin);
    const skipCli = skipIf(skip, MISSING.gearman);
    const isGearmand = target.name === "gearmand";
    const peers = new Peers();
    const conns: RawConn[] = [];
    let port = 0;
    const served = serveTarget(target, skip, peers, (p) => (port = p), () => {
      for (const c of conns) c.close();
    });

    const gearadmin = (...args: string[]) => peers.gearadmin(port, args).ok();

    /** A raw connection that registers the functions and never asks for work. */
    async function idleWorker(...fns: string[]): Promise<RawConn> {
      const c = await RawConn.connect(port);
      conns.push(c);
      for (const f of fns) c.sendPacket(CAN_DO, f);
      for (const f of fns) await waitForStatus(port, f, { workers: 1 });
      return c;
    }

    /** Submits a background job with the `gearman` CLI and returns its handle. */
    async function background(fn: string, data: string, ...flags: string[]): Promise<string> {
      const out = await peers.gearman(port, ["-b", "-v", ...flags, "-f", fn, data]).ok();
      const m = /^Task created: (\S+)\n$/.exec(out.stdout);
      assert.ok(m, `unexpected gearman -b -v output ${JSON.stringify(out.stdout)}`);
      return m[1]!;
    }

    const showJobs = async () =>
      (await gearadmin("--show-jobs")).stdout.split("\n").filter((l) => l && l !== ".").map((l) => l.split("\t"));

    test(
      "--status prints `F\\t2\\t0\\t1` for two queued jobs and one idle worker, then counts a running job",
      { ...T, skip: skipCli },
      async () => {
        const w = await idleWorker("adm_status");
        await background("adm_status", "one");
        await background("adm_status", "two");
        const out = await gearadmin("--status");
        assert.ok(out.stdout.endsWith("\n.\n"), JSON.stringify(out.stdout));
        assert.ok(out.stdout.split("\n").includes("adm_status\t2\t0\t1"), JSON.stringify(out.stdout));
        w.sendPacket(GRAB_JOB);
        await w.expectPacket(JOB_ASSIGN);
        assert.ok((await gearadmin("--status")).stdout.split("\n").includes("adm_status\t2\t1\t1"));
      },
    );

    test("--status lists functions sorted by name", {
      ...T,
      skip: skipIf(skip, isGearmand && "gearmand lists functions in hash order; sorting is a gearbox choice (docs/protocol.md §4.2, §4.5)"),
    }, async () => {
      for (const f of ["adm_sort_zeta", "adm_sort_alpha", "adm_sort_mid", "ADM_SORT_UPPER"]) {
        assert.equal((await gearadmin("--create-function", f)).stdout, "OK\n");
      }
      const names = [...parseStatus((await gearadmin("--status")).stdout).keys()];
      assert.ok(names.includes("adm_sort_mid"));
      assert.deepEqual(names, [...names].sort());
    });

    test("a worker that registers the same function twice counts once in --status", { ...T, skip: skipCli }, async () => {
      // `gearman -w -f F -f F` really sends CAN_DO F twice on one connection.
      // gearmand counts each registration (docs/protocol.md §3.1); gearbox de-duplicates.
      const expected = isGearmand ? 2 : 1;
      peers.gearman(port, ["-w", "-f", "adm_dup", "-f", "adm_dup", "--", "cat"]);
      await waitForStatus(port, "adm_dup", { workers: expected });
      await new Promise((r) => setTimeout(r, 200));
      assert.ok((await gearadmin("--status")).stdout.split("\n").includes(`adm_dup\t0\t0\t${expected}`));
    });

    test("--priority-status counts queued jobs per priority: high, normal, low, then workers", { ...T, skip: skipCli }, async () => {
      await idleWorker("adm_prio");
      await background("adm_prio", "h1", "-I");
      for (const d of ["n1", "n2"]) await background("adm_prio", d);
      for (const d of ["l1", "l2", "l3"]) await background("adm_prio", d, "-L");
      const out = await gearadmin("--priority-status");
      assert.ok(out.stdout.endsWith("\n.\n"), JSON.stringify(out.stdout));
      assert.ok(out.stdout.split("\n").includes("adm_prio\t1\t2\t3\t1"), JSON.stringify(out.stdout));
    });

    test("--workers lists each connection with its client id and functions", { ...T, skip: skipCli }, async () => {
      peers.gearman(port, ["-w", "-f", "adm_workers_cli", "--", "cat"]);
      await waitForStatus(port, "adm_workers_cli", { workers: 1 });
      const raw = await RawConn.connect(port);
      conns.push(raw);
      raw.sendPacket(SET_CLIENT_ID, "adm-worker-7");
      raw.sendPacket(CAN_DO, "adm_workers_raw");
      await waitForStatus(port, "adm_workers_raw", { workers: 1 });
      const out = (await gearadmin("--workers")).stdout;
      assert.ok(out.endsWith("\n.\n"), JSON.stringify(out));
      const lines = out.split("\n");
      assert.ok(lines.some((l) => /^\S+ 127\.0\.0\.1 - : adm_workers_cli$/.test(l)), JSON.stringify(out));
      assert.ok(lines.some((l) => /^\S+ 127\.0\.0\.1 adm-worker-7 : adm_workers_raw$/.test(l)), JSON.stringify(out));
      // gearadmin's own connection has no functions.
      assert.ok(lines.some((l) => /^\S+ 127\.0\.0\.1 - :$/.test(l)), JSON.stringify(out));
    });

    test("--server-version prints the version from the server's `OK <version>` reply", { ...T, skip }, async () => {
      const reply = await admin(port, "version", false);
      const m = /^OK (\S.*)\n$/.exec(reply);
      assert.ok(m, `version reply ${JSON.stringify(reply)}`);
      assert.equal((await gearadmin("--server-version")).stdout, `${m[1]}\n`);
    });

    test("--server-verbose prints the server's verbosity level", { ...T, skip }, async () => {
      const reply = await admin(port, "verbose", false);
      const m = /^OK ([A-Z]+)\n$/.exec(reply);
      assert.ok(m, `verbose reply ${JSON.stringify(reply)}`);
      assert.equal((await gearadmin("--server-verbose")).stdout, `${m[1]}\n`);
    });

    test("--getpid prints the server's process id", { ...T, skip }, async () => {
      const out = await gearadmin("--getpid");
      assert.equal(out.stdout, `${served.server!.pid}\n`);
    });

    test("--show-jobs lists queued background jobs as `H\\t0\\t0\\t1` and a running foreground job as `H\\t0\\t0\\t0`", {
      ...T,
      skip: skipCli,
    }, async () => {
      const h1 = await background("adm_jobs", "a");
      const h2 = await background("adm_jobs", "b");
      const client = await RawConn.connect(port);
      const worker = await RawConn.connect(port);
      conns.push(client, worker);
      client.sendPacket(SUBMIT_JOB, "adm_jobs_fg", "", "fg");
      const fg = (await client.expectPacket(JOB_CREATED)).body.toString("latin1");
      worker.sendPacket(CAN_DO, "adm_jobs_fg");
      worker.sendPacket(GRAB_JOB);
      assert.equal((await worker.expectPacket(JOB_ASSIGN)).args[0], fg);
      const jobs = await showJobs();
      assert.deepEqual(jobs.find((j) => j[0] === h1), [h1, "0", "0", "1"]);
      assert.deepEqual(jobs.find((j) => j[0] === h2), [h2, "0", "0", "1"]);
      assert.deepEqual(jobs.find((j) => j[0] === fg), [fg, "0", "0", "0"]);
      assert.ok((await gearadmin("--show-jobs")).stdout.endsWith(".\n"));
    });

    test("--show-unique-jobs lists the unique of every job", { ...T, skip: skipCli }, async () => {
      await background("adm_uniq", "a", "-u", "adm-unique-1");
      await background("adm_uniq", "b", "-u", "adm-unique-2");
      await background("adm_uniq", "c", "-u", "adm-unique-1"); // coalesces with the first
      const out = (await gearadmin("--show-unique-jobs")).stdout;
      assert.ok(out.endsWith(".\n"), JSON.stringify(out));
      const lines = out.split("\n");
      assert.equal(lines.filter((l) => l === "adm-unique-1").length, 1);
      assert.equal(lines.filter((l) => l === "adm-unique-2").length, 1);
    });

    test("--cancel-job removes a queued background job so that no worker ever runs it", { ...T, skip: skipCli }, async () => {
      const cancelled = await background("adm_cancel", "cancel me");
      const kept = await background("adm_cancel", "keep me");
      const out = await gearadmin("--cancel-job", cancelled);
      assert.equal(out.stdout, "OK\n");
      assert.equal(out.stderr, "");
      const row = (await showJobs()).find((j) => j[0] === cancelled);
      if (isGearmand) {
        // gearmand keeps the job, marked ignored, until a worker's scan reaches it (docs/protocol.md §4.2, G40).
        assert.ok(row === undefined || row[2] === "1", JSON.stringify(row));
      } else {
        assert.equal(row, undefined, "a cancelled job must leave the job table at once");
        assert.deepEqual(await statusOf(port, "adm_cancel"), { total: 1, running: 0, workers: 0 });
      }
      // A one-job worker gets the job that was kept, never the cancelled one.
      const w = await peers.gearman(port, ["-w", "-f", "adm_cancel", "-c", "1"]).ok(5000);
      assert.equal(w.stdout, "keep me");
      await waitUntil("both jobs are gone", async () => {
        const handles = (await showJobs()).map((j) => j[0]);
        return !handles.includes(cancelled) && !handles.includes(kept);
      });
      assert.deepEqual(await statusOf(port, "adm_cancel"), { total: 0, running: 0, workers: 0 });
    });

    test("--cancel-job of an unknown handle prints `Error: UNKNOWN_JOB`", { ...T, skip }, async () => {
      const out = await gearadmin("--cancel-job", "H:nowhere:999999");
      assert.equal(out.stdout, "");
      assert.equal(out.stderr, "Error: UNKNOWN_JOB\r\n");
    });

    test("--create-function makes a function that --status lists with zeros", { ...T, skip }, async () => {
      const out = await gearadmin("--create-function", "adm_made");
      assert.equal(out.stdout, "OK\n");
      assert.deepEqual(parseStatus((await gearadmin("--status")).stdout).get("adm_made"), { total: 0, running: 0, workers: 0 });
    });

    test("--drop-function removes an idle function", { ...T, skip }, async () => {
      assert.equal((await gearadmin("--create-function", "adm_drop_idle")).stdout, "OK\n");
      const out = await gearadmin("--drop-function", "adm_drop_idle");
      assert.equal(out.stdout, "OK\n");
      assert.equal(out.stderr, "");
      assert.equal(parseStatus((await gearadmin("--status")).stdout).has("adm_drop_idle"), false);
    });

    test("--drop-function refuses while a worker is connected, and succeeds once it has gone", { ...T, skip: skipCli }, async () => {
      const w = peers.gearman(port, ["-w", "-f", "adm_drop_busy", "--", "cat"]);
      await waitForStatus(port, "adm_drop_busy", { workers: 1 });
      const refused = await gearadmin("--drop-function", "adm_drop_busy");
      assert.equal(refused.stdout, "");
      assert.equal(refused.stderr, "Error: there are still connected workers or executing clients\r\n");
      assert.equal(parseStatus((await gearadmin("--status")).stdout).has("adm_drop_busy"), true);
      w.kill();
      await waitForStatus(port, "adm_drop_busy", { workers: 0 });
      assert.equal((await gearadmin("--drop-function", "adm_drop_busy")).stdout, "OK\n");
      assert.equal(parseStatus((await gearadmin("--status")).stdout).has("adm_drop_busy"), false);
    });

    test("--drop-function refuses while jobs are queued", {
      ...T,
      skip: skipIf(skipCli, isGearmand && "gearmand drops a function with queued jobs, orphaning them (docs/protocol.md §4.2, §3.16)"),
    }, async () => {
      await background("adm_drop_queued", "still here");
      const refused = await gearadmin("--drop-function", "adm_drop_queued");
      assert.equal(refused.stdout, "");
      assert.match(refused.stderr, /^Error: \S.*\r\n$/);
      assert.deepEqual(await statusOf(port, "adm_drop_queued"), { total: 1, running: 0, workers: 0 });
    });

    test("--drop-function of an unknown function prints `Error: function not found`", { ...T, skip }, async () => {
      const out = await gearadmin("--drop-function", "adm_never_seen");
      assert.equal(out.stdout, "");
      assert.equal(out.stderr, "Error: function not found\r\n");
    });
  });
}
