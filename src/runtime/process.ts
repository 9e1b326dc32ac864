/**
 * Supervised child processes for `gearbox drive`: spawn, read stdout and
 * stderr line by line, signal, and learn how the child ended. Bun.spawn on
 * Bun, Deno.Command on Deno (docs/runtime.md §4: node:child_process misreports
 * signals there), node:child_process elsewhere.
 *
 * @module
 */
import { spawn as nodeSpawn } from "node:child_process";
import { LineSplitter } from "./line_splitter.ts";

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: string | null;
}

/** A running child. */
export interface ChildHandle {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  kill(signal: "SIGTERM" | "SIGKILL" | "SIGINT"): void;
}

/** What to run and where its output goes. */
export interface SpawnOptions {
  argv: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
  onStdoutLine: (line: string) => void;
  onStderrLine: (line: string) => void;
}

/** Longest line passed on whole; longer ones are split (a child cannot make the driver buffer without bound). */
const MAX_LINE = 64 * 1024;

type DenoChild = {
  pid: number;
  status: Promise<{ code: number; signal: string | null }>;
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  kill(signal: string): void;
};
type DenoNs = { Command: new (cmd: string, o: Record<string, unknown>) => { spawn(): DenoChild } };

/** Starts a child; throws when it cannot be started. */
export function spawnChild(options: SpawnOptions): ChildHandle {
  const env = { ...process.env, ...options.env } as Record<string, string>;
  const bun = (globalThis as { Bun?: typeof Bun }).Bun;
  if (bun) {
    const proc = bun.spawn({ cmd: [...options.argv], env, cwd: options.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const out = readLines(proc.stdout as ReadableStream<Uint8Array>, options.onStdoutLine);
    const err = readLines(proc.stderr as ReadableStream<Uint8Array>, options.onStderrLine);
    return {
      pid: proc.pid,
      exited: proc.exited.then(async (code) => {
        await Promise.all([out, err]);
        return { code: proc.signalCode ? null : code, signal: proc.signalCode ? String(proc.signalCode) : null };
      }),
      kill: (signal) => proc.kill(signal),
    };
  }
  const deno = (globalThis as { Deno?: DenoNs }).Deno;
  if (deno) {
    const child = new deno.Command(options.argv[0]!, {
      args: options.argv.slice(1),
      env,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = readLines(child.stdout, options.onStdoutLine);
    const err = readLines(child.stderr, options.onStderrLine);
    return {
      pid: child.pid,
      exited: child.status.then(async (s) => {
        await Promise.all([out, err]);
        return { code: s.signal ? null : s.code, signal: s.signal };
      }),
      kill: (signal) => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      },
    };
  }
  const child = nodeSpawn(options.argv[0]!, options.argv.slice(1), { env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`cannot run ${options.argv[0]}`);
  splitNodeLines(child.stdout!, options.onStdoutLine);
  splitNodeLines(child.stderr!, options.onStderrLine);
  return {
    pid: child.pid,
    exited: new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal }))),
    kill: (signal) => void child.kill(signal),
  };
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const splitter = new LineSplitter(onLine, { maxLine: MAX_LINE });
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      splitter.push(value);
    }
  } catch { /* the pipe broke: the child is gone */ }
  splitter.end();
}

function splitNodeLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  const splitter = new LineSplitter(onLine, { maxLine: MAX_LINE });
  stream.on("data", (d: Uint8Array) => splitter.push(d));
  stream.on("end", () => splitter.end());
}

/** Starts this program again detached from the terminal (for --daemonize); returns the new pid. */
export function spawnDetached(argv: readonly string[], env: Record<string, string>): number {
  const child = nodeSpawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, detached: true, stdio: "ignore" });
  child.unref();
  if (child.pid === undefined) throw new Error(`cannot run ${argv[0]}`);
  return child.pid;
}
