/**
 * A job done by a program, as `gearbox work` and drive's command jobs do it:
 * the workload on stdin, the job in GEARBOX_HANDLE / GEARBOX_FUNCTION /
 * GEARBOX_UNIQUE, stdout the result; a program that does not exit 0 fails
 * the job with a message made from its stderr.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { constants as osConstants } from "node:os";
import { JobFailure } from "../client/job_failure.ts";
import type { WorkerJob } from "../client/worker_job.ts";
import { type CommandResult, runCommand, type RunOptions } from "../runtime/run_command.ts";

/** The longest stderr tail that becomes a failure message. */
const MAX_MESSAGE = 4096;

/** Runs `command` for one job. */
export function runForJob(
  command: readonly string[],
  job: WorkerJob<Uint8Array>,
  options: Omit<RunOptions, "env"> = {},
): Promise<CommandResult> {
  return runCommand(command, job.data, {
    ...options,
    env: { GEARBOX_HANDLE: job.handle, GEARBOX_FUNCTION: job.function, GEARBOX_UNIQUE: job.unique },
  });
}

/** How a program ended, in words: `exit status 3`, `killed by SIGKILL`. */
export function howEnded(r: CommandResult): string {
  return r.status === null ? `killed by ${r.signal}` : `exit status ${r.status}`;
}

/**
 * The failure message of a program that did not exit 0: its stderr (the
 * tail, up to 4 KiB), or only the last stderr line followed by how it
 * ended; without stderr, the program and how it ended.
 */
export function failureMessage(command: readonly string[], r: CommandResult, keep: "stderr" | "lastLine"): string {
  const stderr = Buffer.from(r.stderr).toString("utf8").trim();
  if (stderr === "") return `${command[0]}: ${howEnded(r)}`;
  return keep === "stderr" ? stderr.slice(-MAX_MESSAGE) : `${stderr.split("\n").at(-1)} (${howEnded(r)})`;
}

/** A program's exit status as a shell reports it: its own, or 128 + the signal's number. */
export function exitStatusOfCommand(status: number | null, signal: string | null): number {
  if (status !== null) return status;
  const n = signal === null ? undefined : (osConstants.signals as Record<string, number>)[signal];
  return 128 + (n ?? 0);
}

/** The failure a program's non-zero exit makes: its message, and its exit status kept (exit 7 stays 7). */
export function commandFailure(command: readonly string[], r: CommandResult, keep: "stderr" | "lastLine"): JobFailure {
  return new JobFailure(failureMessage(command, r, keep), exitStatusOfCommand(r.status, r.signal));
}
