/**
 * Which SUBMIT_JOB variant a job goes out as, and its arguments: priority ×
 * foreground/background, or SUBMIT_JOB_EPOCH for a job with a run time.
 * Shared by the client and by a worker's `replaceWith`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Cmd } from "../protocol/commands.ts";
import { ClientError } from "./client_error.ts";
import type { Priority } from "./job_request.ts";

const CODES: Record<Priority, [foreground: number, background: number]> = {
  high: [Cmd.SUBMIT_JOB_HIGH, Cmd.SUBMIT_JOB_HIGH_BG],
  normal: [Cmd.SUBMIT_JOB, Cmd.SUBMIT_JOB_BG],
  low: [Cmd.SUBMIT_JOB_LOW, Cmd.SUBMIT_JOB_LOW_BG],
};

/** A text argument as the wire carries it: UTF-8 bytes, one char per byte (the codec is latin1). */
export function wireText(text: string): string {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, "utf8").toString("latin1");
}

/** A wire string (latin1) read back as UTF-8 text. */
export function fromWire(text: string): string {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, "latin1").toString("utf8");
}

/** `runAt` as Unix seconds: a Date, or a number of seconds since the epoch. */
export function epochSeconds(runAt: Date | number): number {
  const s = runAt instanceof Date ? Math.floor(runAt.getTime() / 1000) : Math.floor(runAt);
  if (!Number.isFinite(s) || s < 0) throw new ClientError("INVALID_ARGUMENT", `runAt must be a Date or Unix seconds, got ${String(runAt)}`);
  return s;
}

/** The packet code and string arguments that submit a job. */
export function submitPacket(
  fn: string,
  unique: string,
  priority: Priority,
  background: boolean,
  runAt: number | undefined,
): { code: number; args: string[] } {
  if (fn === "") throw new ClientError("INVALID_ARGUMENT", "the function name is empty");
  if (/[\0]/.test(fn) || /[\0]/.test(unique)) throw new ClientError("INVALID_ARGUMENT", "function names and uniques cannot contain NUL");
  const codes = CODES[priority];
  if (codes === undefined) throw new ClientError("INVALID_ARGUMENT", `priority must be high, normal or low, got ${String(priority)}`);
  if (runAt !== undefined) {
    if (!background) throw new ClientError("INVALID_ARGUMENT", "a job with runAt is a background job (SUBMIT_JOB_EPOCH)");
    return { code: Cmd.SUBMIT_JOB_EPOCH, args: [wireText(fn), wireText(unique), String(runAt)] };
  }
  return { code: codes[background ? 1 : 0], args: [wireText(fn), wireText(unique)] };
}
