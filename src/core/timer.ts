/**
 * Something the core must do at a given time: the entries of its deadline
 * heap, run by `JobServer.tick`.
 *
 * @module
 */
import type { FunctionRecord } from "./function_record.ts";
import type { Job } from "./job.ts";

/** Something the core must do at a given time. */
export type Timer =
  | { kind: "due"; job: Job }
  | { kind: "timeout"; job: Job; assignment: number; lease: boolean }
  | { kind: "rewake"; fn: FunctionRecord }
  | { kind: "expire"; job: Job };
