/**
 * What a TypeScript/JavaScript worker module exports for `gearbox drive`:
 * its jobs with Gearman::Driver's attributes, and begin/end hooks. A module
 * needs no imports at all (plain objects are enough), so it needs no
 * node_modules; `defineWorker` from mod.ts only adds types.
 *
 * @module
 */
import type { WorkerJob } from "../client/worker_job.ts";

/** The built-in ways to read a workload or write a result. */
export type Codec = "text" | "json" | "bytes";

/**
 * Your own decoder (Gearman::Driver's `Decode` method): the workload's bytes
 * in, what the handler gets as `job.data` out. A throw fails the job.
 */
export type DecodeFunction = (workload: Uint8Array, options: Record<string, unknown>) => unknown;

/**
 * Your own encoder (Gearman::Driver's `Encode` method): what the handler
 * returned (or passed to `sendData`/`sendWarning`) in, the bytes to send
 * out; a string is sent as UTF-8.
 */
export type EncodeFunction = (result: unknown, options: Record<string, unknown>) => Uint8Array | string;

/** One job of a module. */
export interface WorkerModuleJob {
  // deno-lint-ignore no-explicit-any
  handler: (job: WorkerJob<any>, options: Record<string, unknown>) => unknown;
  min_processes?: number;
  max_processes?: number;
  /** Jobs with the same group run in the same processes. */
  process_group?: string;
  /** How the workload is decoded: text (default), json, bytes, or your own function. */
  decode?: Codec | DecodeFunction;
  /** How the result is encoded: text, json, bytes, or your own function (default: as a named `decode`, else text). */
  encode?: Codec | EncodeFunction;
  /**
   * Seconds a job may run. Then it fails (`timed out after N s`, exit status
   * 124, retried as the server's policy says) and its process, whose handler
   * cannot be cancelled, exits and is replaced.
   */
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
 *     // Your own codec: key=value lines in, a count out.
 *     count: {
 *       decode: (bytes) => new TextDecoder().decode(bytes).split("\n").filter((l) => l.includes("=")),
 *       encode: (n) => `${n} pairs`,
 *       handler: (job) => job.data.length,
 *     },
 *   },
 * });
 * ```
 */
export function defineWorker(module: WorkerModule): WorkerModule {
  return module;
}

const CODECS: readonly Codec[] = ["text", "json", "bytes"];

/** Reads a module's export (default, or a `jobs` named export), or says what is wrong. */
export function workerModuleOf(exports: Record<string, unknown>, path: string): WorkerModule {
  const m = (exports.default ?? exports) as Partial<WorkerModule>;
  if (typeof m !== "object" || m === null || typeof m.jobs !== "object" || m.jobs === null) {
    throw new Error(`${path}: a worker module exports { jobs: { NAME: { handler, ... } } } (as default or named exports)`);
  }
  for (const [name, job] of Object.entries(m.jobs)) {
    if (typeof job?.handler !== "function") throw new Error(`${path}: jobs.${name}.handler must be a function`);
    for (const k of ["decode", "encode"] as const) {
      const v = job[k];
      if (v !== undefined && typeof v !== "function" && !CODECS.includes(v as Codec)) {
        throw new Error(`${path}: jobs.${name}.${k} must be text, json, bytes or a function`);
      }
    }
  }
  return m as WorkerModule;
}
