/**
 * `gearbox schedules` (src/cli/schedules.ts) against a `gearbox serve` whose
 * config has a schedule: the table and `--json` listing with last and next
 * run, pause, trigger, and the exit status of an unknown schedule.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startGearbox } from "../helpers/servers.ts";
import { gearboxCommand } from "../helpers/servers.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { waitUntil } from "../helpers/wait.ts";

const tempDir = tempDirs();

function schedules(port: number, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...pre] = gearboxCommand();
  const r = spawnSync(cmd!, [...pre, "schedules", ...args, "--server", `127.0.0.1:${port}`], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("gearbox schedules", () => {
  test(
    "lists schedules with last and next run as a table and --json, pauses, triggers, and exits 1 on an unknown one",
    { timeout: 60_000 },
    async () => {
      const config = join(tempDir("gearbox-schedules-cli-"), "serve.yaml");
      writeFileSync(config, "schedules:\n  - name: beat\n    function: beat_fn\n    every: 1s\n");
      const server = await startGearbox({ extra: ["--config", config] });
      try {
        let rows: Record<string, unknown>[] = [];
        await waitUntil(
          "the schedule fired once",
          () => {
            rows = JSON.parse(schedules(server.port, "list", "--json").stdout);
            return rows[0]?.last_handle !== "-" || JSON.stringify(rows);
          },
          10_000,
          200,
        );
        const [row] = rows;
        assert.equal(row!.name, "beat");
        assert.equal(row!.function, "beat_fn");
        assert.equal(row!.status, "active");
        assert.ok(Number(row!.fired) >= 1);
        assert.ok(Date.parse(String(row!.next_run)) > Date.parse(String(row!.last_run)), "the next run is after the last one");
        assert.match(String(row!.last_handle), /^H:/);

        const table = schedules(server.port, "list");
        assert.equal(table.status, 0);
        assert.match(table.stdout, /NAME.*FUNCTION.*TIMING.*STATUS.*NEXT RUN.*LAST RUN.*LAST HANDLE/);
        assert.match(table.stdout, /beat.*beat_fn.*every 1000ms UTC.*active/);

        assert.equal(schedules(server.port, "pause", "beat").stdout, "paused beat\n");
        assert.equal(JSON.parse(schedules(server.port, "show", "beat", "--json").stdout).status, "paused");
        const trig = JSON.parse(schedules(server.port, "trigger", "beat", "--json").stdout);
        assert.match(trig.handle, /^H:/);

        const added = schedules(server.port, "add", "late", "--function", "late_fn", "--every", "1h", "--missed", "once");
        assert.equal(added.stdout, "added late\n", added.stderr);
        assert.match(schedules(server.port, "list").stdout, /late.*late_fn.*every 3600000ms UTC.*active/);
        const twice = schedules(server.port, "add", "late", "--function", "late_fn", "--every", "1h");
        assert.equal(twice.status, 1);
        assert.match(twice.stderr, /schedule late exists/);
        assert.equal(schedules(server.port, "delete", "late").stdout, "deleted late\n");

        const unknown = schedules(server.port, "pause", "nope");
        assert.equal(unknown.status, 1);
        assert.match(unknown.stderr, /no schedule nope/);
      } finally {
        await server.stop();
      }
    },
  );
});
