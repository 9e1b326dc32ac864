/**
 * `gearbox top` end to end, as a person uses it: the compiled binary in a
 * real terminal (tmux), against a running server and driver. Read the
 * screen with capture-pane, raise a job's max processes with `+` and watch
 * the driver scale, quit with `q`.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../mod.ts";
import { Peers, waitUntil } from "../helpers/peers.ts";
import { gearboxCommand, haveCommand, type RunningServer, startGearbox } from "../helpers/servers.ts";
import { consoleCommand, startDriver, waitForJob } from "../helpers/drive.ts";

const SOCKET = `gearbox-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", "top").stdout ?? "";

describe("gearbox top in a terminal", { skip: haveCommand("tmux") ? false : "tmux is not installed" }, () => {
  const peers = new Peers();
  let server: RunningServer | undefined;
  let dir: string | undefined;
  after(async () => {
    tmux("kill-server");
    await peers.killAll();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("shows functions, counts and processes, scales a job with +, and quits with q", { timeout: 90_000 }, async () => {
    server = await startGearbox();
    dir = mkdtempSync(join(tmpdir(), "gearbox-top-"));
    const { consolePort } = await startDriver(peers, server, dir, {
      jobs: { tui_slow: { command: ["sh", "-c", "sleep 0.5; cat"], min_processes: 1, max_processes: 1 } },
      max_idle_time: 0,
    });
    await waitForJob(consolePort, "tui_slow", "one process", (s) => s.current === 1);
    const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    await client.submitMultipleJobs(Array.from({ length: 40 }, (_, i) => ({ function: "tui_slow", data: String(i), background: true })));
    await client.submitJob("tui_idle_fn", "x", { background: true });
    client.close();

    const cmd = [...gearboxCommand(), "top", "-s", `127.0.0.1:${server.port}`, "-C", `127.0.0.1:${consolePort}`, "-i", "0.5"].map((a) => `'${a}'`).join(" ");
    // CI=true as CI machines set it: Ink would then draw nothing until exit, top must not.
    const started = tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "40", "-e", "CI=true", `exec ${cmd}`);
    assert.equal(started.status, 0, started.stderr);

    await waitUntil("the queues show", () => /tui_slow\s+\d+\s+\d+\/\d+\/\d+\s+1\s+1/.test(screen()) || screen(), 20_000, 200);
    await waitUntil("the idle function shows", () => /tui_idle_fn\s+1\s+0\/1\/0\s+0\s+0/.test(screen()) || screen(), 5000, 200);
    await waitUntil("the process shows", () => /tui_slow\s+1\s+1\s+1\s+ok/.test(screen()) && /pid \d+\s+(busy|idle)/.test(screen()) || screen(), 10_000, 200);
    await waitUntil("a scaling event shows", () => /scale\s+tui_slow\s+below min/.test(screen()) || screen(), 10_000, 200);

    tmux("send-keys", "-t", "top", "Tab");
    await waitUntil("the processes panel has focus", () => /Processes \*/.test(screen()) || screen(), 5000, 100);
    tmux("send-keys", "-t", "top", "+");
    await waitUntil("the status line says so", () => /tui_slow: max processes 1 → 2/.test(screen()) || screen(), 5000, 100);
    const status = await waitForJob(consolePort, "tui_slow", "max 2 and a second process", (s) => s.max === 2 && s.current === 2);
    assert.equal(status.processes.length, 2);
    await waitUntil("the screen shows two processes", () => /tui_slow\s+1\s+2\s+2\s+/.test(screen()) || screen(), 10_000, 200);
    assert.match((await consoleCommand(consolePort, "events 0")).join("\n"), /"kind":"console".*min 1, max 2/);

    // K on a process row kills that process; the driver replaces it.
    const victim = Number(/pid (\d+)/.exec(screen())![1]);
    tmux("send-keys", "-t", "top", "j");
    tmux("send-keys", "-t", "top", "K");
    await waitUntil("the status line reports the kill", () => new RegExp(`killed pid ${victim} of tui_slow`).test(screen()) || screen(), 5000, 100);
    await waitForJob(consolePort, "tui_slow", "the killed process replaced", (s) => s.current === 2 && !s.processes.some((p) => p.pid === victim));

    // A smaller terminal: the screen follows, nothing wider than it.
    tmux("resize-window", "-t", "top", "-x", "80", "-y", "24");
    await waitUntil("the screen fits 80 columns", () => {
      const lines = screen().split("\n").filter((l) => l !== "");
      return (lines.length > 0 && lines.every((l) => l.length <= 80) && /Queues/.test(screen()) && /Events/.test(screen())) || screen();
    }, 5000, 100);

    tmux("send-keys", "-t", "top", "q");
    await waitUntil("top quits", () => tmux("has-session", "-t", "top").status !== 0, 10_000, 100);
  });
});
