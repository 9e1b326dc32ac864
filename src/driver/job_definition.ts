/**
 * One supervised job as the driver sees it: the functions its processes
 * register, how many processes it may have, and what a process runs (a
 * command per job, or a module's handlers). A process group of a module is
 * one definition with several functions.
 *
 * @module
 */
import type { TlsOptions } from "../client/tls_options.ts";

export interface JobDefinition {
  /** The name the console and the log use: a command job's name, a module job's function, or a group's prefixed name. */
  name: string;
  functions: string[];
  min: number;
  max: number;
  /**
   * A job running longer than this fails (`timed out after N s`): a command
   * is killed, a module's process exits after failing the job (a handler
   * cannot be cancelled) and is replaced.
   */
  timeoutMs: number | undefined;
  /** Scale so that the oldest waiting job waits at most this long (`target_wait`), ms; undefined: on queue depth. */
  targetWaitMs?: number;
  kind: "command" | "module";
  /** Command jobs: the program and its arguments. */
  command?: string[];
  /** Module jobs: the module file, the prefix, and the module's job names this process runs. */
  module?: string;
  prefix?: string;
  members?: string[];
  /** Module jobs: worker_options of the module (merged over GLOBAL). */
  options?: Record<string, unknown>;
}

/** What a worker process is told (as JSON in its environment). */
export interface ChildSpec {
  job: JobDefinition;
  servers: string[];
  /** The driver's TLS settings for the servers, as file paths (the child reads them; no key in the environment). */
  tls?: TlsOptions;
  /** Where the child reports its jobs (`host:port` of the driver's report listener). */
  report: string;
  /** Proves to the listener that the report comes from a child of this driver. */
  token: string;
}

/**
 * What a child tells the driver, one JSON object per line. `retire`: the
 * process is about to exit on purpose (a job of its timed out), so its exit
 * is not a crash and it is replaced at once.
 */
export type ChildReport =
  | { event: "hello"; token: string; pid: number }
  | { event: "start"; function: string; handle: string }
  | { event: "done"; function: string }
  | { event: "fail"; function: string; handle?: string; message: string; exitStatus?: number }
  | { event: "retire"; reason: string }
  /** A command job's program started (its pid), and ended (its peak memory, bytes, null when unknown); before the job's `done` or `fail`. */
  | { event: "command"; pid: number }
  | { event: "command_end"; pid: number; peakRssBytes: number | null };
