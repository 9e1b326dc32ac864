/**
 * `gearbox jobs` end to end: the real command (the compiled binary when
 * built) against a running gearbox with a dead job, a scheduled one and a
 * queued one.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { gearboxCommand, startGearbox } from "../helpers/servers.ts";

function jobs(port: number, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...pre] = gearboxCommand();
  const r = spawnSync(cmd!, [...pre, "jobs", ...args, "--server", `127.0.0.1:${port}`], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("gearbox jobs", () => {
  test("lists, shows, retries and purges jobs, with tables, --json and distinct exit statuses", { timeout: 60_000 }, async () => {
    const server = await startGearbox({ extra: ["--store", "memory:"] });
    try {
      const c = await RawConn.connect(server.port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "resize", "img-1", "x");
      const dead = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString();
      c.sendPacket(Cmd.SUBMIT_JOB_EPOCH, "resize", "img-2", String(Math.floor(Date.now() / 1000) + 3600), "y");
      const later = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString();
      const w = await RawConn.connect(server.port);
      w.sendPacket(Cmd.CAN_DO, "resize");
      w.sendPacket(Cmd.GRAB_JOB);
      assert.equal((await w.expectPacket(Cmd.JOB_ASSIGN)).args[0], dead);
      w.sendPacket(Cmd.WORK_EXCEPTION, dead, "out of memory");
      w.close();
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "other", "", "z");
      await c.expectPacket(Cmd.JOB_CREATED);

      const table = jobs(server.port, "list");
      assert.equal(table.status, 0, table.stderr);
      assert.match(table.stdout, /HANDLE.*FUNCTION.*STATE/);
      assert.match(table.stdout, new RegExp(`${dead.replaceAll(".", "\\.")}.*resize.*failed`));
      assert.match(table.stdout, /scheduled/);

      const failed = jobs(server.port, "list", "--state", "failed", "--json");
      assert.equal(failed.status, 0, failed.stderr);
      const rows = JSON.parse(failed.stdout);
      assert.deepEqual(rows.map((r: { handle: string; state: string; unique: string }) => [r.handle, r.state, r.unique]), [[
        dead,
        "failed",
        "img-1",
      ]]);

      const shown = JSON.parse(jobs(server.port, "show", dead, "--json").stdout);
      assert.equal(shown.exit_status, "1");
      assert.deepEqual(shown.failures.map((f: { message: string }) => f.message), ["out of memory"]);
      assert.match(jobs(server.port, "show", dead).stdout, /out of memory/);

      assert.equal(jobs(server.port, "retry", later).status, 1, "a scheduled job is not failed: the server refuses");
      const retried = jobs(server.port, "retry", "--all", "--function", "resize");
      assert.equal(retried.stdout.trim(), "retried 1 job");
      assert.equal(JSON.parse(jobs(server.port, "list", "--state", "queued", "--function", "resize", "--json").stdout)[0].handle, dead);

      assert.equal(jobs(server.port, "purge", "resize").stdout.trim(), "purged 2 jobs", "the queued and the scheduled one");
      assert.equal(jobs(server.port, "list", "--function", "resize").stdout.trim(), "no jobs");
      const missing = jobs(server.port, "show", "H:nope:1");
      assert.deepEqual([missing.status, missing.stderr.trim()], [1, "gearbox jobs: UNKNOWN_JOB"]);
      c.close();
    } finally {
      await server.stop();
    }
    const unreachable = jobs(1, "list");
    assert.equal(unreachable.status, 2);
    assert.match(unreachable.stderr, /127\.0\.0\.1:1/);
  });

  test("refuses a bad command line with exit 64 before it connects", () => {
    // Port 1 has no server: a command that tried to connect would exit 2.
    const cases: [string[], RegExp][] = [
      [["retry"], /give a handle or --all/],
      [["retry", "H:x:1", "--all"], /not both/],
      [["list", "--limit", "0"], /--limit.*at least 1/],
      [["list", "--timeout", "soon"], /--timeout.*at least 1/],
      [["list", "--state", "lost"], /--state/],
    ];
    for (const [args, message] of cases) {
      const r = jobs(1, ...args);
      assert.equal(r.status, 64, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
