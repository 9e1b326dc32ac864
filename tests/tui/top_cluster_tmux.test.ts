/**
 * `gearbox top -s a,b` end to end on a cluster: the compiled binary in a
 * real 80x24 terminal (tmux) against two `gearbox serve` nodes on one real
 * PostgreSQL (tests/helpers/postgres.ts). The nodes panel shows both nodes
 * with their jobs, the queues are summed over both, nothing is wider or
 * taller than the terminal, and q quits.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Client } from "../../mod.ts";
import { testPostgres } from "../helpers/postgres.ts";
import { gearboxCommand, haveCommand, type RunningServer, startGearbox } from "../helpers/servers.ts";
import { waitUntil } from "../helpers/wait.ts";

const SOCKET = `gearbox-cluster-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", "top").stdout ?? "";
const postgres = await testPostgres();
const skip = !haveCommand("tmux") ? "tmux is not installed" : postgres.ok ? undefined : postgres.skip;

describe("gearbox top on a two-node cluster in a terminal", { skip }, () => {
  const nodes: RunningServer[] = [];
  after(async () => {
    tmux("kill-server");
    for (const n of nodes) await n.stop();
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("shows both nodes with their jobs and the queues summed over both, within 80x24", { timeout: 90_000 }, async () => {
    if (!postgres.ok) return;
    const store = await postgres.pg.createDatabase();
    for (const id of ["tmux-a", "tmux-b"]) nodes.push(await startGearbox({ extra: ["--store", store, "--node-id", id] }));
    for (const [i, n] of nodes.entries()) {
      const client = new Client({ servers: [`127.0.0.1:${n.port}`] });
      for (let k = 0; k <= i; k++) await client.submitJob("tmux_fn", `x${k}`, { background: true });
      client.close();
    }
    const servers = nodes.map((n) => `127.0.0.1:${n.port}`).join(",");
    const started = tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24", ...gearboxCommand(), "top", "-s", servers, "-i", "0.5");
    assert.equal(started.status, 0, started.stderr);
    await waitUntil("both nodes show", () => /Nodes {2}2 nodes: 2 live, 0 dead, 0 adopted/.test(screen()) || screen(), 20_000, 200);
    await waitUntil(
      "each node with its jobs and its server's totals",
      () =>
        /tmux-a\s+127\.0\.0\.1:\d+\s+live\s+hb \d+s\s+1 jobs\s+q\/r\/w 1\/0\/0/.test(screen()) &&
          /tmux-b\s+127\.0\.0\.1:\d+\s+live\s+hb \d+s\s+2 jobs\s+q\/r\/w 2\/0\/0/.test(screen()) || screen(),
      20_000,
      200,
    );
    const shown = screen();
    assert.match(shown, /tmux_fn\s+3\s/, "the function summed over both nodes");
    assert.match(shown, /1 functions, 3 queued, 0 running, 0 workers over 2 servers/);
    const lines = shown.split("\n").filter((l) => l !== "");
    assert.ok(lines.every((l) => l.length <= 80), shown);
    assert.ok(lines.length <= 24, shown);
    for (const title of ["Queues", "Processes", "Events"]) assert.match(shown, new RegExp(title));
    tmux("send-keys", "-t", "top", "q");
    await waitUntil("top quit", () => tmux("has-session", "-t", "top").status !== 0 || screen(), 10_000, 100);
  });
});
