/**
 * Runs a program to completion: bytes on its stdin, its stdout and stderr
 * collected. For `gearbox work`, which runs one program per job.
 * `node:child_process` is fit for this on Bun and Deno alike (the warning of
 * docs/runtime.md §4 about it on Deno concerns supervising long-lived children).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { Buffer } from "node:buffer";
import { processMemory } from "./host_and_process.ts";

/** The first wait between readings of a program's peak memory, ms. */
const FIRST_SAMPLE_MS = 20;

/** How a program ended and what it wrote. */
export interface CommandResult {
  /** Exit status, or null when a signal ended it. */
  status: number | null;
  signal: string | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /**
   * The program's peak resident memory, bytes, when `sampleMemoryMs` was
   * given: the highest VmHWM read (Linux /proc) at its start and while it
   * ran (20, 60, 140, 300 ms in, the waits doubling up to `sampleMemoryMs`, then every `sampleMemoryMs`); null where
   * the system does not tell or it ended before a reading. Its memory is
   * gone once it exits, so a peak reached after the last reading is missed.
   */
  peakRssBytes: number | null;
}

/** Options for {@link runCommand}. */
export interface RunOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** SIGKILL the program after this long. */
  timeoutMs?: number;
  /** Called with each chunk of stderr as it comes (stderr is still collected). */
  onStderr?: (chunk: Uint8Array) => void;
  /** Called with the program's pid once it is started. */
  onSpawn?: (pid: number) => void;
  /** Read the program's peak memory this often (ms), for `peakRssBytes`. */
  sampleMemoryMs?: number;
}

/** Runs `argv` with `input` on stdin; rejects only when the program cannot be started. */
export function runCommand(argv: readonly string[], input: Uint8Array, options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => {
      err.push(d);
      options.onStderr?.(d);
    });
    // A program that exits without reading its stdin must not fail the job with EPIPE.
    child.stdin!.on("error", () => {});
    child.stdin!.end(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    const peak = peakSampler(child.pid, options);
    child.once("error", (e) => {
      clearTimeout(timer);
      peak.stop();
      reject(new Error(`cannot run ${argv[0]}: ${e.message}`));
    });
    child.once("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), peakRssBytes: peak.stop() });
    });
  });
}

/**
 * Reads a started program's VmHWM now, then after 20 ms, doubling the wait
 * up to `sampleMemoryMs` (a short program is read a few times), and every
 * `sampleMemoryMs` after; `stop` gives the highest reading.
 */
function peakSampler(pid: number | undefined, options: RunOptions): { stop: () => number | null } {
  if (pid === undefined) return { stop: () => null };
  options.onSpawn?.(pid);
  const every = options.sampleMemoryMs;
  if (every === undefined) return { stop: () => null };
  let peak: number | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = (wait: number) => {
    const mem = processMemory(pid);
    if (mem) peak = Math.max(peak ?? 0, mem.peak);
    timer = setTimeout(() => read(Math.min(wait * 2, every)), wait);
  };
  read(Math.min(FIRST_SAMPLE_MS, every));
  // No later reading is possible here: "exit" comes once the program is reaped, and its stdout
  // closes only after its memory is released (measured on Bun and Deno: /proc says nothing by then).
  // Its rusage after reaping (Bun.spawn's maxRSS) is no better: Linux carries the spawning
  // process's peak into it across exec (measured: `true` spawned by a 225 MiB process, 223 MiB).
  return {
    stop: () => {
      clearTimeout(timer);
      return peak;
    },
  };
}
