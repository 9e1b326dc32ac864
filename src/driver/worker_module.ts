/**
 * What a TypeScript/JavaScript worker module exports for `gearbox drive`:
 * its jobs with Gearman::Driver's attributes, and begin/end hooks. A module
 * needs no imports at all (plain objects are enough), so it needs no
 * node_modules; `defineWorker` from mod.ts only adds types.
 *
 * @module
 */
import type { WorkerJob } from "../client/worker_job.ts";

/** How a job's payload is read or its result written: built in, or your own function. */
export type Codec = "text" | "json" | "bytes";

/** One job of a module. */
export interface WorkerModuleJob {
  // deno-lint-ignore no-explicit-any
  handler: (job: WorkerJob<any>, options: Record<string, unknown>) => unknown;
  min_processes?: number;
  max_processes?: number;
  /** Jobs with the same group run in the same processes. */
  process_group?: string;
  /** How the workload is decoded (default text). */
  decode?: Codec;
  /** How the result is encoded (default: as `decode`). */
  encode?: Codec;
  /** Seconds a job may run before its process is killed (also sent as CAN_DO_TIMEOUT). */
  timeout?: number;
}

/** A worker module. */
export interface WorkerModule {
  /** Prepended to each job name to make the function name (default: file name + `::`). */
  prefix?: string;
  /** Runs once in each worker process before it takes jobs, with its worker_options. */
  begin?: (options: Record<string, unknown>) => unknown;
  /** Runs once when the process stops. */
  end?: (options: Record<string, unknown>) => unknown;
  jobs: Record<string, WorkerModuleJob>;
}

/**
 * Types a worker module (an identity function).
 *
 * @example
 * ```ts
 * export default defineWorker({
 *   jobs: {
 *     reverse: { min_processes: 1, max_processes: 4, handler: (job) => [...job.data].reverse().join("") },
 *   },
 * });
 * ```
 */
export function defineWorker(module: WorkerModule): WorkerModule {
  return module;
}

/** Reads a module's export (default, or a `jobs` named export), or says what is wrong. */
export function workerModuleOf(exports: Record<string, unknown>, path: string): WorkerModule {
  const m = (exports.default ?? exports) as Partial<WorkerModule>;
  if (typeof m !== "object" || m === null || typeof m.jobs !== "object" || m.jobs === null) {
    throw new Error(`${path}: a worker module exports { jobs: { NAME: { handler, ... } } } (as default or named exports)`);
  }
  for (const [name, job] of Object.entries(m.jobs)) {
    if (typeof job?.handler !== "function") throw new Error(`${path}: jobs.${name}.handler must be a function`);
    for (const k of ["decode", "encode"] as const) {
      if (job[k] !== undefined && !["text", "json", "bytes"].includes(job[k]!)) throw new Error(`${path}: jobs.${name}.${k} must be text, json or bytes`);
    }
  }
  return m as WorkerModule;
}
