/**
 * CPU time of processes, read from /proc (Linux): what the PostgreSQL
 * benchmarks use to report server CPU per job.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

const TICK = 100; // clock ticks per second in /proc/PID/stat

/** CPU seconds (user + system) of the processes whose ids are given; gone processes count 0. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / TICK;
}

/**
 * CPU seconds of the postmaster listening on `port` and all its children,
 * counting the children that exited since (cutime/cstime of the postmaster),
 * so backends of closed connections are not lost.
 */
export function postgresCpuSeconds(port: number): number {
  const master = postmaster(port);
  if (master === undefined) return 0;
  let ticks = 0;
  try {
    const stat = readFileSync(`/proc/${master}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0;
  }
  return ticks / TICK + cpuSeconds(children(master));
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

function allPids(): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
}

function postmaster(port: number): number | undefined {
  return allPids().find((pid) => /postgres /.test(cmdline(pid)) && cmdline(pid).includes(`-p ${port}`));
}

function children(parent: number): number[] {
  return allPids().filter((pid) => {
    try {
      return Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) === parent;
    } catch {
      return false;
    }
  });
}
