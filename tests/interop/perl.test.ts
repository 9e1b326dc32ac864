/**
 * Interop with Perl's Gearman::Client and Gearman::Worker
 * (libgearman-client-perl 2.004), through tests/interop/peers/client.pl and
 * worker.pl, against every available server target.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TARGETS } from "../helpers/servers.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { listenersOf, MISSING, Peers, serveTarget, skipIf, statusOf, waitForStatus } from "../helpers/peers.ts";
import { waitUntil } from "../helpers/wait.ts";

const T = { timeout: 25_000 };

for (const target of TARGETS) {
  describe(`Perl Gearman::Client and Gearman::Worker against ${target.name}`, () => {
    const skip = skipIf(!target.available && `${target.name} is not installed`, MISSING.perl);
    const isGearmand = target.name === "gearmand";
    const peers = new Peers();
    let port = 0;
    serveTarget(target, skip, peers, (p) => (port = p));

    /** Starts worker.pl and waits until the server counts it for each function. */
    async function perlWorker(functions: Record<string, string>, count = 1) {
      const w = peers.perl("worker.pl", port, { functions, count, timeout: 15 });
      for (const f of Object.keys(functions)) await waitForStatus(port, f, { workers: 1 });
      return w;
    }

    const perlClient = (spec: Record<string, unknown>) => peers.perl("client.pl", port, { timeout: 8, ...spec });

    test("a Perl client's do_task round-trips a binary payload with NUL bytes through a Perl worker", { ...T, skip }, async () => {
      const w = await perlWorker({ pl_rev: "reverse" });
      const r = await perlClient({ op: "do", func: "pl_rev", data_hex: "0061006200ff0a" }).result(10_000);
      assert.equal(r.outcome, "complete");
      assert.equal(r.result_hex, "0aff0062006100");
      const job = await w.waitForJson((v) => v.job === 1);
      assert.equal(job.arg_hex, "0061006200ff0a");
      assert.equal(job.func, "pl_rev");
      await w.ok();
    });

    test(
      "a Perl client's dispatch_background job is known to get_status while queued, then run by a Perl worker",
      { ...T, skip },
      async () => {
        const bg = await perlClient({ op: "bg", func: "pl_bg", data: "background work" }).result();
        const handle = String(bg.handle);
        assert.match(handle, new RegExp(`^127\\.0\\.0\\.1:${port}//\\S+$`));
        await waitForStatus(port, "pl_bg", { total: 1, running: 0, workers: 0 });
        const queued = await perlClient({ op: "status", handle }).result();
        assert.deepEqual(queued, { known: 1, running: 0, numerator: "0", denominator: "0" });
        const w = peers.perl("worker.pl", port, { functions: { pl_bg: "echo" }, count: 1, timeout: 10 });
        const job = await w.waitForJson((v) => v.job === 1);
        assert.equal(Buffer.from(String(job.arg_hex), "hex").toString(), "background work");
        assert.equal(`127.0.0.1:${port}//${job.handle}`, handle);
        await w.ok();
        await waitForStatus(port, "pl_bg", { total: 0 });
      },
    );

    test("get_status reports a running background job with the numerator and denominator its Perl worker set", { ...T, skip }, async () => {
      const handle = String((await perlClient({ op: "bg", func: "pl_hold", data: "h" }).result()).handle);
      const w = peers.perl("worker.pl", port, { functions: { pl_hold: "hold" }, count: 1, timeout: 10 });
      await w.waitForJson((v) => v.job === 1);
      const raw = handle.slice(handle.indexOf("//") + 2);
      await waitUntil("the server has the worker's status", async () => {
        const c = await RawConn.connect(port);
        try {
          c.sendPacket(15, /* GET_STATUS */ raw);
          return (await c.expectPacket(20 /* STATUS_RES */)).args.slice(1).join("/") === "1/1/3/10";
        } finally {
          c.close();
        }
      });
      const running = await perlClient({ op: "status", handle }).result();
      assert.deepEqual(running, { known: 1, running: 1, numerator: "3", denominator: "10" });
      await w.ok();
    });

    test("a Perl worker's set_status updates reach the client's on_status, in order, before the result", { ...T, skip }, async () => {
      await perlWorker({ pl_status: "status" });
      const r = await perlClient({ op: "do", func: "pl_status", data: "s" }).result(10_000);
      assert.deepEqual(r, {
        outcome: "complete",
        result: "status:s",
        result_hex: Buffer.from("status:s").toString("hex"),
        events: [
          { event: "status", numerator: "1", denominator: "3" },
          { event: "status", numerator: "2", denominator: "3" },
        ],
      });
    });

    test("a Perl worker's work data and warnings reach the client's on_data and on_warning", { ...T, skip }, async () => {
      await perlWorker({ pl_chatty: "chatty" });
      const r = await perlClient({ op: "do", func: "pl_chatty", data: "c" }).result(10_000);
      assert.equal(r.outcome, "complete");
      assert.equal(r.result, "done:c");
      assert.deepEqual(r.events, [
        { event: "data", data: "d1:c" },
        { event: "warning", data: "w1" },
        { event: "status", numerator: "1", denominator: "2" },
      ]);
    });

    test("a Perl worker that dies reaches a client with exceptions => 1 as on_exception carrying the message", { ...T, skip }, async () => {
      await perlWorker({ pl_die: "die" });
      const r = await perlClient({ op: "do", func: "pl_die", data: "d", exceptions: true }).result(10_000);
      assert.equal(r.outcome, "exception");
      assert.equal(r.exception, "boom:d\n");
      assert.equal(r.result, undefined);
    });

    test("a Perl worker survives its own die and processes the next job", {
      ...T,
      skip: skipIf(
        skip,
        isGearmand &&
          "gearmand answers the WORK_FAIL that Gearman::Worker sends after WORK_EXCEPTION with ERROR JOB_NOT_FOUND, which kills the worker on its next grab (docs/protocol.md §3.5)",
      ),
    }, async () => {
      const w = await perlWorker({ pl_die_then: "die", pl_rev_then: "reverse" }, 2);
      const first = await perlClient({ op: "do", func: "pl_die_then", data: "x", exceptions: true }).result(10_000);
      assert.equal(first.outcome, "exception");
      const second = await perlClient({ op: "do", func: "pl_rev_then", data: "next job" }).result(10_000);
      assert.equal(second.outcome, "complete");
      assert.equal(second.result, "boj txen");
      await w.ok();
      assert.deepEqual(w.jsonLines().at(-1), { done: 2 });
    });

    test("a client without exceptions gets on_fail when a Perl worker dies", {
      ...T,
      skip: skipIf(
        skip,
        isGearmand &&
          "gearmand downgrades WORK_EXCEPTION to WORK_FAIL `H\\0` with a stray NUL, which Gearman::Client rejects as an unknown handle (docs/protocol.md §3.5)",
      ),
    }, async () => {
      await perlWorker({ pl_die_plain: "die" });
      const r = await perlClient({ op: "do", func: "pl_die_plain", data: "d" }).result(10_000);
      assert.equal(r.outcome, "fail");
      assert.equal(r.exception, undefined);
      assert.doesNotMatch(String(r.fail_reason), /timeout/);
    });

    test("a client without exceptions gets on_fail when a Perl worker returns undef", { ...T, skip }, async () => {
      await perlWorker({ pl_undef: "undef" });
      const r = await perlClient({ op: "do", func: "pl_undef", data: "u" }).result(10_000);
      assert.equal(r.outcome, "fail");
      assert.doesNotMatch(String(r.fail_reason), /timeout/);
    });

    test('a Perl worker returning "0" or "" (WORK_COMPLETE without the separator) completes the client\'s task and keeps working', {
      ...T,
      skip: skip ||
        (target.name === "gearmand" &&
          "documented gearmand behaviour: it waits for the missing NUL and the client hangs (docs/protocol.md §1.3)"),
    }, async () => {
      const w = peers.perl("worker.pl", port, { functions: { pl_zero: "zero", pl_empty: "empty" }, count: 2, timeout: 10 });
      const zero = await perlClient({ op: "do", func: "pl_zero", data: "z" }).result(10_000);
      assert.equal(zero.outcome, "complete");
      // Gearman::Worker itself turns a false result into an empty WORK_COMPLETE.
      assert.equal(zero.result ?? "", "");
      const empty = await perlClient({ op: "do", func: "pl_empty", data: "e" }).result(10_000);
      assert.equal(empty.outcome, "complete");
      assert.equal(empty.result ?? "", "");
      await w.ok();
    });

    test("two Perl clients with the same uniq share one worker run and both get the result", { ...T, skip }, async () => {
      const c1 = perlClient({ op: "do", func: "pl_uniq", data: "same", uniq: "pl-shared-key" });
      const c2 = perlClient({ op: "do", func: "pl_uniq", data: "same", uniq: "pl-shared-key" });
      await waitUntil("both clients wait on one job", async () => (await listenersOf(port, "pl-shared-key")) === 2);
      assert.deepEqual(await statusOf(port, "pl_uniq"), { total: 1, running: 0, workers: 0 });
      const w = peers.perl("worker.pl", port, { functions: { pl_uniq: "reverse" }, count: 1, timeout: 10 });
      for (const c of [c1, c2]) {
        const r = await c.result(10_000);
        assert.equal(r.outcome, "complete");
        assert.equal(r.result, "emas");
      }
      await w.ok();
      assert.equal(w.jsonLines().filter((v) => "job" in v).length, 1);
    });
  });
}
