/**
 * A failure a worker's handler throws on purpose, with the exit status to
 * keep (TheSchwartz's `failed($msg, $exit_status)`). Any thrown error with a
 * numeric `exitStatus` property counts the same; this class only names it.
 *
 * @module
 */

/**
 * Thrown by a handler: the job fails with `message`, is retried by the
 * server's policy, and if this failure is its last, the job keeps
 * `exitStatus` (an integer from 1).
 *
 * @example
 * ```ts
 * worker.register("import", async (job) => {
 *   const r = await run(job.data);
 *   if (r.code !== 0) throw new JobFailure(`import exited ${r.code}`, r.code);
 *   return r.output;
 * });
 * ```
 */
export class JobFailure extends Error {
  readonly exitStatus: number;

  constructor(message: string, exitStatus = 1) {
    super(message);
    this.name = "JobFailure";
    this.exitStatus = exitStatus;
  }
}

/** The exit status an error carries (`exitStatus`, an integer from 1), if any. */
export function exitStatusOf(error: unknown): number | undefined {
  const status = (error as { exitStatus?: unknown } | null | undefined)?.exitStatus;
  return typeof status === "number" && Number.isInteger(status) && status >= 1 && status <= 999_999_999 ? status : undefined;
}
