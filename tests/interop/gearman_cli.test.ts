/**
 * Interop with the unmodified `gearman` command-line tool (gearman-tools
 * 1.1.20, libgearman): its client mode and its `-w` worker mode, against
 * every available server target.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { TARGETS } from "../helpers/servers.ts";
import { admin, listenersOf, MISSING, Peers, serveTarget, skipIf, statusOf, waitForStatus } from "../helpers/peers.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const T = { timeout: 20_000 };

for (const target of TARGETS) {
  describe(`the gearman CLI against ${target.name}`, () => {
    const skip = skipIf(!target.available && `${target.name} is not installed`, MISSING.gearman);
    const peers = new Peers();
    let port = 0;
    serveTarget(target, skip, peers, (p) => (port = p));

    /** Starts `gearman -w -f F... -- CMD` and waits until the server counts it for every function. */
    async function worker(fns: string[], args: string[]) {
      const w = peers.gearman(port, ["-w", ...fns.flatMap((f) => ["-f", f]), ...args]);
      for (const f of fns) await waitForStatus(port, f, { workers: 1 });
      return w;
    }

    test("a `gearman -w` worker running `tr a-z A-Z` answers a `gearman` client", { ...T, skip }, async () => {
      await worker(["cli_upper"], ["--", "tr", "a-z", "A-Z"]);
      const out = await peers.gearman(port, ["-f", "cli_upper", "hello world"]).ok();
      assert.equal(out.stdout, "hello world".toUpperCase());
      assert.equal(out.stderr, "");
    });

    test("payload bytes read from stdin pass unchanged through a `cat` worker, NUL and 0xFF included", { ...T, skip }, async () => {
      await worker(["cli_cat"], ["--", "cat"]);
      const payload = Buffer.from([0x61, 0x00, 0x62, 0xff, 0x00, 0x63, 0x0a]);
      const out = await peers.gearman(port, ["-f", "cli_cat"], { input: payload }).ok();
      assert.deepEqual(out.stdoutBytes, payload);
    });

    test("a background job (`-b`) returns at once, stays queued, and is run by a worker that starts later", { ...T, skip }, async () => {
      const submit = await peers.gearman(port, ["-b", "-f", "cli_bg", "bg-payload"]).ok();
      assert.equal(submit.stdout, "");
      await waitForStatus(port, "cli_bg", { total: 1, running: 0, workers: 0 });
      // Without a command, `gearman -w` prints each workload on its stdout.
      const w = peers.gearman(port, ["-w", "-f", "cli_bg", "-c", "1"]);
      const done = await w.ok(5000);
      assert.equal(done.stdout, "bg-payload");
      await waitForStatus(port, "cli_bg", { total: 0, running: 0, workers: 0 });
    });

    test("`-b -v` reports the handle of the created job", { ...T, skip }, async () => {
      const submit = await peers.gearman(port, ["-b", "-v", "-f", "cli_bgv", "x"]).ok();
      const m = /^Task created: (\S+)\n$/.exec(submit.stdout);
      assert.ok(m, `unexpected output ${JSON.stringify(submit.stdout)}`);
      const jobs = await admin(port, "show jobs");
      assert.ok(jobs.split("\n").some((l) => l.split("\t")[0] === m[1]), `${m[1]} not in ${JSON.stringify(jobs)}`);
    });

    test(
      "queued background jobs run high (`-I`) first, then normal, then low (`-L`), each in submission order",
      { ...T, skip },
      async () => {
        for (const [flag, data] of [["-L", "L1"], ["", "N1"], ["-I", "H1"], ["-L", "L2"], ["", "N2"], ["-I", "H2"]] as const) {
          await peers.gearman(port, ["-b", ...(flag ? [flag] : []), "-f", "cli_prio", data]).ok();
        }
        const prio = await admin(port, "prioritystatus");
        assert.ok(prio.split("\n").includes("cli_prio\t2\t2\t2\t0"), JSON.stringify(prio));
        const w = await peers.gearman(port, ["-w", "-f", "cli_prio", "-c", "6"]).ok(5000);
        assert.equal(w.stdout, "H1H2N1N2L1L2");
      },
    );

    test("foreground high (`-I`) and low (`-L`) priority jobs get their results", { ...T, skip }, async () => {
      await worker(["cli_fgprio"], ["--", "tr", "a-z", "A-Z"]);
      assert.equal((await peers.gearman(port, ["-I", "-f", "cli_fgprio", "high"]).ok()).stdout, "HIGH");
      assert.equal((await peers.gearman(port, ["-L", "-f", "cli_fgprio", "low"]).ok()).stdout, "LOW");
    });

    test("two background submissions with the same `-u` unique make one job that runs once", { ...T, skip }, async () => {
      await peers.gearman(port, ["-b", "-u", "cli-same-key", "-f", "cli_ubg", "first"]).ok();
      await peers.gearman(port, ["-b", "-u", "cli-same-key", "-f", "cli_ubg", "second"]).ok();
      assert.deepEqual(await statusOf(port, "cli_ubg"), { total: 1, running: 0, workers: 0 });
      const uniques = (await admin(port, "show unique jobs")).split("\n");
      assert.equal(uniques.filter((u) => u === "cli-same-key").length, 1);
      const w = await peers.gearman(port, ["-w", "-f", "cli_ubg", "-c", "1"]).ok(5000);
      assert.equal(w.stdout, "first");
      await waitForStatus(port, "cli_ubg", { total: 0 });
    });

    test("two foreground clients with the same `-u` unique share one worker run and both get the result", { ...T, skip }, async () => {
      const c1 = peers.gearman(port, ["-u", "cli-fg-key", "-f", "cli_ufg", "shared"]);
      const c2 = peers.gearman(port, ["-u", "cli-fg-key", "-f", "cli_ufg", "shared"]);
      await waitUntil("both clients wait on the coalesced job", async () => (await listenersOf(port, "cli-fg-key")) === 2);
      assert.deepEqual(await statusOf(port, "cli_ufg"), { total: 1, running: 0, workers: 0 });
      // `-c 1`: a second run would leave one client waiting forever.
      const w = peers.gearman(port, ["-w", "-f", "cli_ufg", "-c", "1", "--", "tr", "a-z", "A-Z"]);
      assert.equal((await c1.ok()).stdout, "SHARED");
      assert.equal((await c2.ok()).stdout, "SHARED");
      await w.ok();
    });

    test(
      "`-n` submits one job per input line and prints each result on its own line; `-N` strips the newlines",
      { ...T, skip },
      async () => {
        await worker(["cli_lines"], ["--", "tr", "a-z", "A-Z"]);
        const n = await peers.gearman(port, ["-n", "-f", "cli_lines"], { input: "one\ntwo\nthree\n" }).ok();
        assert.equal(n.stdout, "ONE\nTWO\nTHREE\n");
        const big = await peers.gearman(port, ["-N", "-f", "cli_lines"], { input: "one\ntwo\nthree\n" }).ok();
        assert.equal(big.stdout, "ONETWOTHREE");
      },
    );

    test(
      "one `gearman -w` worker serves several functions, and a client can call them all with `-P` prefixes",
      { ...T, skip },
      async () => {
        await worker(["cli_fa", "cli_fb"], ["--", "tr", "a-z", "A-Z"]);
        assert.equal((await peers.gearman(port, ["-f", "cli_fa", "a"]).ok()).stdout, "A");
        assert.equal((await peers.gearman(port, ["-f", "cli_fb", "b"]).ok()).stdout, "B");
        const both = (await peers.gearman(port, ["-P", "-f", "cli_fa", "-f", "cli_fb", "x y"]).ok()).stdout;
        // Both tasks are in flight at once; which result comes first is up to the server.
        assert.ok(both === "cli_fa: X Ycli_fb: X Y" || both === "cli_fb: X Ycli_fa: X Y", JSON.stringify(both));
      },
    );

    test("a job submitted while no worker exists waits, and is served once a worker starts", { ...T, skip }, async () => {
      const client = peers.gearman(port, ["-f", "cli_late", "late job"]);
      await waitForStatus(port, "cli_late", { total: 1, running: 0, workers: 0 });
      await sleep(300);
      assert.equal(client.running, true, "the client must keep waiting while no worker exists");
      peers.gearman(port, ["-w", "-f", "cli_late", "--", "tr", "a-z", "A-Z"]);
      assert.equal((await client.ok(5000)).stdout, "LATE JOB");
    });

    test("a worker started with `-c 1` exits 0 after its first job and stops being counted", { ...T, skip }, async () => {
      const w = await worker(["cli_once"], ["-c", "1", "--", "tr", "a-z", "A-Z"]);
      assert.equal((await peers.gearman(port, ["-f", "cli_once", "once"]).ok()).stdout, "ONCE");
      await w.ok(3000);
      await waitForStatus(port, "cli_once", { workers: 0 });
      await peers.gearman(port, ["-b", "-f", "cli_once", "nobody runs me"]).ok(); // acknowledged: the server holds it
      assert.deepEqual(await statusOf(port, "cli_once"), { total: 1, running: 0, workers: 0 });
    });

    test("a worker command that exits non-zero makes the client print `Job failed` and exit 1", { ...T, skip }, async () => {
      await worker(["cli_false"], ["-c", "1", "--", "false"]);
      const out = await peers.gearman(port, ["-f", "cli_false", "x"]).waitExit();
      assert.equal(out.code, 1);
      assert.equal(out.stdout, "");
      assert.match(out.stderr, /^Job failed$/m);
    });
  });
}
