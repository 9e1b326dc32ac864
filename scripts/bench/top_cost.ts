/**
 * What `gearbox top` costs to leave running: CPU and memory of the compiled
 * binary in a 200×60 tmux terminal, refreshing every second, against a
 * gearbox server with 500 functions (each with a queued job) and a driver.
 *
 *   bun scripts/bench/top_cost.ts [--functions 500] [--seconds 30]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "../../mod.ts";
import { Peers } from "../../tests/helpers/peers.ts";
import { BINARY, startGearbox } from "../../tests/helpers/servers.ts";
import { startDriver } from "../../tests/helpers/drive.ts";

const { values } = parseArgs({ options: { functions: { type: "string", default: "500" }, seconds: { type: "string", default: "30" } } });
const functions = Number(values.functions);
const seconds = Number(values.seconds);
const SOCKET = `gearbox-bench-${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const ticks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime + stime
}
function rssMiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

const peers = new Peers();
const server = await startGearbox();
const dir = mkdtempSync(join(tmpdir(), "gearbox-top-bench-"));
try {
  const { consolePort } = await startDriver(peers, server, dir, {
    jobs: { bench_job: { command: ["cat"], min_processes: 2, max_processes: 4 } },
    interval: 1,
  });
  const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
  await client.submitMultipleJobs(
    Array.from({ length: functions }, (_, i) => ({ function: `fn_${String(i).padStart(4, "0")}`, data: "x", background: true })),
  );
  client.close();
  tmux(
    "new-session",
    "-d",
    "-s",
    "top",
    "-x",
    "200",
    "-y",
    "60",
    `exec ${BINARY} top -s 127.0.0.1:${server.port} -C 127.0.0.1:${consolePort} -i 1`,
  );
  const pid = Number(tmux("list-panes", "-t", "top", "-F", "#{pane_pid}").stdout.trim());
  await new Promise((r) => setTimeout(r, 5000)); // start-up and first renders
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  let peak = 0;
  while (Date.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    peak = Math.max(peak, rssMiB(pid));
  }
  const cpu = (cpuSeconds(pid) - cpu0) / ((Date.now() - t0) / 1000);
  const screenText = tmux("capture-pane", "-p", "-t", "top").stdout;
  const shown = /(\d+) functions/.exec(screenText)?.[1] ?? `nothing (${JSON.stringify(screenText.slice(0, 300))})`;
  console.log(`gearbox top, ${functions} functions (screen says ${shown}), 1 s refresh, ${seconds} s measured, 200x60 terminal:`);
  console.log(`  CPU ${(cpu * 100).toFixed(1)}% of one core; RSS ${rssMiB(pid).toFixed(1)} MiB (peak ${peak.toFixed(1)} MiB)`);
} finally {
  tmux("kill-server");
  await peers.killAll();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
