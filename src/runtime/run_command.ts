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

/** How a program ended and what it wrote. */
export interface CommandResult {
  /** Exit status, or null when a signal ended it. */
  status: number | null;
  signal: string | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/** Options for {@link runCommand}. */
export interface RunOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** SIGKILL the program after this long. */
  timeoutMs?: number;
  /** Called with each chunk of stderr as it comes (stderr is still collected). */
  onStderr?: (chunk: Uint8Array) => void;
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
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv[0]}: ${e.message}`));
    });
    child.once("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}
