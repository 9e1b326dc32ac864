/**
 * `gearbox top` end to end, as a person uses it: the compiled binary in a
 * real terminal (tmux), started from a shell, against a running server and
 * driver. Read the screen with capture-pane, raise a job's max processes
 * with `+` and watch the driver scale, move with keys sent in one write,
 * quit with `q` and find the shell as it was.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../mod.ts";
import { Peers } from "../helpers/peers.ts";
import { gearboxCommand, haveCommand, type RunningServer, startGearbox } from "../helpers/servers.ts";
import { consoleCommand, startDriver, waitForJob } from "../helpers/drive.ts";
import { waitUntil } from "../helpers/wait.ts";

const SOCKET = `gearbox-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", "top").stdout ?? "";
const pane = (format: string) => tmux("display-message", "-p", "-t", "top", format).stdout.trim();
const PROMPT = "gearbox-top-test$";
/** Types a line into the shell in the pane. */
const typeLine = (line: string) => {
  tmux("send-keys", "-t", "top", "-l", line);
  tmux("send-keys", "-t", "top", "Enter");
};
/** The pids in the processes panel, top to bottom (the events panel names pids too, after a time). */
const pids = () => [...screen().matchAll(/^│\s+pid (\d+)\s/gm)].map((m) => Number(m[1]));

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

  test("shows functions, counts and processes, scales a job with +, moves by every key of one write, and quits with q to a clean shell", {
    timeout: 90_000,
  }, async () => {
    server = await startGearbox();
    dir = mkdtempSync(join(tmpdir(), "gearbox-top-"));
    const { consolePort } = await startDriver(peers, server, dir, {
      jobs: { tui_slow: { command: ["sh", "-c", "sleep 0.5; cat"], min_processes: 1, max_processes: 1 } },
      max_idle_time: 0,
    });
    await waitForJob(consolePort, "tui_slow", "one process", (s) => s.current === 1);
    const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    await client.submitMultipleJobs(Array.from({ length: 100 }, (_, i) => ({ function: "tui_slow", data: String(i), background: true })));
    await client.submitJob("tui_idle_fn", "x", { background: true });
    client.close();

    const cmd = [...gearboxCommand(), "top", "-s", `127.0.0.1:${server.port}`, "-C", `127.0.0.1:${consolePort}`, "-i", "0.5"].map((a) =>
      `'${a}'`
    ).join(" ");
    // CI=true as CI machines set it: Ink would then draw nothing until exit, top must not.
    const started = tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "40", "-e", "CI=true", "env", `PS1=${PROMPT} `, "sh");
    assert.equal(started.status, 0, started.stderr);
    await waitUntil("the shell prompt shows", () => screen().includes(PROMPT) || screen(), 5000, 50);
    // The terminal's modes before top, to compare with after it.
    typeLine(`stty -g > '${join(dir, "stty.before")}'; ${cmd}`);

    await waitUntil("the queues show", () => /tui_slow\s+\d+\s+\d+\/\d+\/\d+\s+1\s+1/.test(screen()) || screen(), 20_000, 200);
    await waitUntil("the idle function shows", () => /tui_idle_fn\s+1\s+0\/1\/0\s+0\s+0/.test(screen()) || screen(), 5000, 200);
    await waitUntil(
      "the process shows",
      () => /tui_slow\s+1\s+1\s+1\s+ok/.test(screen()) && /pid \d+\s+(busy|idle)/.test(screen()) || screen(),
      10_000,
      200,
    );
    await waitUntil("a scaling event shows", () => /scale\s+tui_slow\s+below min/.test(screen()) || screen(), 10_000, 200);

    tmux("send-keys", "-t", "top", "Tab");
    await waitUntil("the processes panel has focus", () => /Processes \*/.test(screen()) || screen(), 15_000, 100);
    tmux("send-keys", "-t", "top", "+");
    await waitUntil("the status line says so", () => /tui_slow: max processes 1 → 2/.test(screen()) || screen(), 15_000, 100);
    const status = await waitForJob(consolePort, "tui_slow", "max 2 and a second process", (s) => s.max === 2 && s.current === 2);
    assert.equal(status.processes.length, 2);
    await waitUntil("the screen shows two processes", () => /tui_slow\s+1\s+2\s+2\s+/.test(screen()) || screen(), 10_000, 200);
    assert.match((await consoleCommand(consolePort, "events 0")).join("\n"), /"kind":"console".*min 1, max 2/);

    // Two keys in one write (send-keys hands tmux's pty both at once, as a paste or key repeat
    // over ssh does): "jj" moves two rows, from the job's row to its second pid, and K kills that.
    await waitUntil("both pids show", () => pids().length === 2 || screen(), 10_000, 100);
    /** K killed `pid`: the status line says so, and the driver replaced it. */
    const killedAndReplaced = async (pid: number | undefined) => {
      await waitUntil(
        "the status line reports the kill of the second pid",
        () => new RegExp(`killed pid ${pid} of tui_slow`).test(screen()) || screen(),
        15_000,
        100,
      );
      await waitForJob(
        consolePort,
        "tui_slow",
        "the killed process replaced",
        (s) => s.current === 2 && !s.processes.some((p) => p.pid === pid),
      );
    };
    const [, second] = pids();
    tmux("send-keys", "-t", "top", "-l", "jj");
    tmux("send-keys", "-t", "top", "K");
    await killedAndReplaced(second);
    await waitUntil("the screen shows the replacement", () => (pids().length === 2 && !pids().includes(second)) || screen(), 10_000, 100);

    // An arrow key and a letter in one write: Down then j, two rows again.
    const [, victim] = pids();
    tmux("send-keys", "-t", "top", "-l", "kk");
    tmux("send-keys", "-t", "top", "Down", "j");
    tmux("send-keys", "-t", "top", "K");
    await killedAndReplaced(victim);

    // A smaller terminal: the screen follows, nothing wider than it.
    tmux("resize-window", "-t", "top", "-x", "80", "-y", "24");
    await waitUntil(
      "the screen fits 80 columns",
      () => {
        const lines = screen().split("\n").filter((l) => l !== "");
        return (lines.length > 0 && lines.every((l) => l.length <= 80) && /Queues/.test(screen()) && /Events/.test(screen())) || screen();
      },
      15_000,
      100,
    );

    // q: the shell's prompt comes back on a clean screen, cursor shown, the terminal's modes as before.
    tmux("send-keys", "-t", "top", "q");
    await waitUntil(
      "the prompt is back",
      () => (pane("#{alternate_on}") === "0" && screen().trimEnd().endsWith(PROMPT)) || screen(),
      10_000,
      100,
    );
    const after = screen();
    for (const leftover of ["Queues", "Processes", "Events", "│", "┌", "q quit", "killed pid"]) {
      assert.ok(!after.includes(leftover), `the screen after q still shows ${JSON.stringify(leftover)}:\n${after}`);
    }
    assert.equal(pane("#{cursor_flag}"), "1", "the cursor is shown");
    typeLine(`stty -g > '${join(dir, "stty.after")}'`);
    // Left in raw mode, the shell would never see this line's Enter (no CR to NL), and the file never comes.
    const modesAfter = join(dir, "stty.after");
    await waitUntil(
      "the shell runs a command",
      () => (existsSync(modesAfter) && readFileSync(modesAfter, "utf8").endsWith("\n")) || screen(),
      5000,
      50,
    );
    assert.equal(
      readFileSync(modesAfter, "utf8"),
      readFileSync(join(dir, "stty.before"), "utf8"),
      "the terminal's modes are as before top",
    );
  });
});
