/**
 * Facts and hooks of this process and its host: host name, boot id, pid,
 * signals, the wall clock, the file-descriptor limit, a process's memory.
 * Kept here so the layers above stay runtime-neutral.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";

export function hostname(): string {
  try {
    return osHostname().split(".")[0] || "localhost";
  } catch {
    return "localhost";
  }
}

export function pid(): number {
  return process.pid;
}

export function now(): number {
  return Date.now();
}

/** Calls `handler` on each of the signals; returns a function that removes the hooks. */
export function onSignals(signals: NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void {
  const hooks = signals.map((s) => {
    const h = () => handler(s);
    process.on(s, h);
    return [s, h] as const;
  });
  return () => {
    for (const [s, h] of hooks) process.off(s, h);
  };
}

/** A short id that differs between process starts (handles stay unique across restarts). */
export function bootId(): string {
  return (Date.now() % 1_679_616).toString(36).padStart(4, "0") + Math.floor(Math.random() * 1296).toString(36).padStart(2, "0");
}

/**
 * The soft limit on open file descriptors (RLIMIT_NOFILE), where the system
 * tells it (Linux /proc); undefined elsewhere.
 */
export function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!m || m[1] === "unlimited") return undefined;
    return Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in bytes, where the system tells it (Linux /proc); undefined elsewhere. */
export function processRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A process's resident memory now (VmRSS) and its peak so far (VmHWM), in
 * bytes, where the system tells them (Linux /proc); undefined elsewhere or
 * once the process is gone.
 */
export function processMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (!rss || !hwm) return undefined;
    return { rss: Number(rss[1]) * 1024, peak: Number(hwm[1]) * 1024 };
  } catch {
    return undefined;
  }
}

/** This process's resident memory in bytes, CPU time (user + system) and start (Unix time) in seconds, for process_* metrics. */
export function ownUsage(): { rss: number; cpuSeconds: number; startSeconds: number } {
  const cpu = process.cpuUsage();
  return { rss: process.memoryUsage.rss(), cpuSeconds: (cpu.user + cpu.system) / 1e6, startSeconds: performance.timeOrigin / 1000 };
}
