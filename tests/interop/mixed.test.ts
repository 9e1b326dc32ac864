/**
 * Interop across peer implementations: clients of one library talking to
 * workers of another (Perl Gearman::Client/Worker, PHP's gearman extension,
 * the `gearman` CLI), through the same server, against every available
 * server target.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TARGETS } from "../helpers/servers.ts";
import { MISSING, Peers, serveTarget, skipIf, waitForStatus } from "../helpers/peers.ts";

const T = { timeout: 25_000 };

type Event = { event: string; task: number; [k: string]: unknown };

for (const target of TARGETS) {
  describe(`mixed peers against ${target.name}`, () => {
    const down = !target.available && `${target.name} is not installed`;
    const isGearmand = target.name === "gearmand";
    const peers = new Peers();
    let port = 0;
    serveTarget(target, down, peers, (p) => (port = p));

    const perlClient = (spec: Record<string, unknown>) => peers.perl("client.pl", port, { timeout: 8, ...spec });
    const phpClient = (spec: Record<string, unknown>) => peers.php("client.php", port, { timeout: 8, ...spec });

    async function registered<P>(p: P, ...fns: string[]): Promise<P> {
      for (const f of fns) await waitForStatus(port, f, { workers: 1 });
      return p;
    }

    test("a Perl client's do_task is answered by a PHP worker, binary payload intact", {
      ...T,
      skip: skipIf(down, MISSING.perl, MISSING.php),
    }, async () => {
      await registered(peers.php("worker.php", port, { functions: { mix_pl_php: "reverse" }, count: 1, timeout: 15 }), "mix_pl_php");
      const r = await perlClient({ op: "do", func: "mix_pl_php", data_hex: "01000203" }).result(10_000);
      assert.equal(r.outcome, "complete");
      assert.equal(r.result_hex, "03020001");
    });

    test("a PHP worker's exception reaches a Perl client with exceptions => 1 verbatim", {
      ...T,
      skip: skipIf(down, MISSING.perl, MISSING.php),
    }, async () => {
      await registered(
        peers.php("worker.php", port, { functions: { mix_pl_php_exc: "exception" }, count: 1, timeout: 15 }),
        "mix_pl_php_exc",
      );
      const r = await perlClient({ op: "do", func: "mix_pl_php_exc", data: "z", exceptions: true }).result(10_000);
      assert.equal(r.outcome, "exception");
      assert.equal(r.exception, "boom:z");
    });

    test("a PHP worker's status, data and warnings reach a Perl client's callbacks", {
      ...T,
      skip: skipIf(down, MISSING.perl, MISSING.php),
    }, async () => {
      await registered(
        peers.php("worker.php", port, { functions: { mix_pl_php_chat: "chatty" }, count: 1, timeout: 15 }),
        "mix_pl_php_chat",
      );
      const r = await perlClient({ op: "do", func: "mix_pl_php_chat", data: "q" }).result(10_000);
      assert.equal(r.outcome, "complete");
      assert.equal(r.result, "done:q");
      assert.deepEqual(r.events, [
        { event: "data", data: "d1:q" },
        { event: "status", numerator: "1", denominator: "2" },
        { event: "warning", data: "w1" },
        { event: "data", data: "d2" },
        { event: "status", numerator: "2", denominator: "2" },
      ]);
    });

    test("a PHP client's doNormal is answered by a Perl worker", { ...T, skip: skipIf(down, MISSING.perl, MISSING.php) }, async () => {
      await registered(peers.perl("worker.pl", port, { functions: { mix_php_pl: "reverse" }, count: 1, timeout: 15 }), "mix_php_pl");
      const r = await phpClient({ op: "do", func: "mix_php_pl", data_hex: "ff00ee" }).result(10_000);
      assert.equal(r.rc, "SUCCESS");
      assert.equal(r.result_hex, "ee00ff");
    });

    test(
      "a Perl worker's set_status reaches a PHP client's status callback",
      { ...T, skip: skipIf(down, MISSING.perl, MISSING.php) },
      async () => {
        await registered(peers.perl("worker.pl", port, { functions: { mix_php_pl_st: "status" }, count: 1, timeout: 15 }), "mix_php_pl_st");
        const r = await phpClient({ op: "tasks", tasks: [{ func: "mix_php_pl_st", data: "p" }] }).result(10_000);
        assert.deepEqual((r.events as Event[]).filter((e) => e.event !== "created"), [
          { event: "status", task: 0, numerator: 1, denominator: 3 },
          { event: "status", task: 0, numerator: 2, denominator: 3 },
          { event: "complete", task: 0, data: "status:p" },
        ]);
      },
    );

    test("a Perl worker that dies shows up as GEARMAN_WORK_EXCEPTION in a PHP client", {
      ...T,
      skip: skipIf(down, MISSING.perl, MISSING.php),
    }, async () => {
      await registered(peers.perl("worker.pl", port, { functions: { mix_php_pl_die: "die" }, count: 1, timeout: 15 }), "mix_php_pl_die");
      const r = await phpClient({ op: "do", func: "mix_php_pl_die", data: "p" }).result(10_000);
      assert.equal(r.rc, "WORK_EXCEPTION");
    });

    test("a PHP client's doNormal and doBackground are served by a `gearman -w` worker", {
      ...T,
      skip: skipIf(down, MISSING.php, MISSING.gearman),
    }, async () => {
      const w = await registered(peers.gearman(port, ["-w", "-f", "mix_php_cli", "-c", "1", "--", "tr", "a-z", "A-Z"]), "mix_php_cli");
      const r = await phpClient({ op: "do", func: "mix_php_cli", data: "from php" }).result(10_000);
      assert.deepEqual([r.rc, r.result], ["SUCCESS", "FROM PHP"]);
      await w.ok();
      const bg = await phpClient({ op: "bg", func: "mix_php_cli_bg", data: "php background" }).result();
      assert.equal(bg.rc, "SUCCESS");
      const bgw = await peers.gearman(port, ["-w", "-f", "mix_php_cli_bg", "-c", "1"]).ok(5000);
      assert.equal(bgw.stdout, "php background");
    });

    test(
      "a Perl client's do_task is answered by a `gearman -w` worker",
      { ...T, skip: skipIf(down, MISSING.perl, MISSING.gearman) },
      async () => {
        await registered(peers.gearman(port, ["-w", "-f", "mix_pl_cli", "--", "tr", "a-z", "A-Z"]), "mix_pl_cli");
        const r = await perlClient({ op: "do", func: "mix_pl_cli", data: "from perl" }).result(10_000);
        assert.deepEqual([r.outcome, r.result], ["complete", "FROM PERL"]);
      },
    );

    test("a `gearman` client's job is answered by a Perl worker and by a PHP worker", {
      ...T,
      skip: skipIf(down, MISSING.perl, MISSING.php, MISSING.gearman),
    }, async () => {
      await registered(peers.perl("worker.pl", port, { functions: { mix_cli_pl: "reverse" }, count: 1, timeout: 15 }), "mix_cli_pl");
      assert.equal((await peers.gearman(port, ["-f", "mix_cli_pl", "abc def"]).ok()).stdout, "fed cba");
      await registered(peers.php("worker.php", port, { functions: { mix_cli_php: "upper" }, count: 1, timeout: 15 }), "mix_cli_php");
      assert.equal((await peers.gearman(port, ["-f", "mix_cli_php", "abc def"]).ok()).stdout, "ABC DEF");
    });

    test("a `gearman` client prints `Job failed` and exits 1 when a PHP worker sends an exception", {
      ...T,
      skip: skipIf(
        down,
        MISSING.php,
        MISSING.gearman,
        isGearmand &&
          "gearmand sends the downgraded WORK_FAIL as `H\\0` with a stray NUL, and the gearman CLI then waits forever (docs/protocol.md §3.5)",
      ),
    }, async () => {
      await registered(
        peers.php("worker.php", port, { functions: { mix_cli_php_exc: "exception" }, count: 1, timeout: 15 }),
        "mix_cli_php_exc",
      );
      const out = await peers.gearman(port, ["-f", "mix_cli_php_exc", "x"]).waitExit(5000);
      assert.equal(out.code, 1);
      assert.equal(out.stdout, "");
      assert.match(out.stderr, /^Job failed$/m);
    });

    test("a Perl client without exceptions gets on_fail when a PHP worker sends an exception", {
      ...T,
      skip: skipIf(
        down,
        MISSING.perl,
        MISSING.php,
        isGearmand &&
          "gearmand sends the downgraded WORK_FAIL as `H\\0` with a stray NUL, which Gearman::Client rejects (docs/protocol.md §3.5)",
      ),
    }, async () => {
      await registered(
        peers.php("worker.php", port, { functions: { mix_pl_php_exc_plain: "exception" }, count: 1, timeout: 15 }),
        "mix_pl_php_exc_plain",
      );
      const r = await perlClient({ op: "do", func: "mix_pl_php_exc_plain", data: "z" }).result(10_000);
      assert.equal(r.outcome, "fail");
      assert.doesNotMatch(String(r.fail_reason), /timeout/);
    });
  });
}
