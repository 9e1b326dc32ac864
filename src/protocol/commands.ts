/**
 * The one table of Gearman packet types. The decoder, the encoder and the
 * core's dispatch all derive from it, so a packet's layout is written once.
 *
 * `fields` are the NUL-separated arguments in order. When `tail` is set the
 * last argument is opaque bytes (it may contain NULs: workloads, results,
 * echo data); otherwise the last field is "the rest of the payload" decoded
 * as a byte-transparent (latin1) string.
 *
 * @module
 */

/** Which side may send a packet type. */
export type Direction = "request" | "response" | "both";

/** One row of the command table. */
export interface CommandSpec {
  readonly code: number;
  readonly name: string;
  readonly direction: Direction;
  /** Names of the string arguments, in wire order. */
  readonly fields: readonly string[];
  /** Name of the opaque last argument, when the packet has one. */
  readonly tail?: string;
}

function spec(code: number, name: string, direction: Direction, fields: string[], tail?: string): CommandSpec {
  return Object.freeze({ code, name, direction, fields: Object.freeze(fields), tail });
}

/** Numeric packet codes, by name. */
export const Cmd = {
  CAN_DO: 1,
  CANT_DO: 2,
  RESET_ABILITIES: 3,
  PRE_SLEEP: 4,
  NOOP: 6,
  SUBMIT_JOB: 7,
  JOB_CREATED: 8,
  GRAB_JOB: 9,
  NO_JOB: 10,
  JOB_ASSIGN: 11,
  WORK_STATUS: 12,
  WORK_COMPLETE: 13,
  WORK_FAIL: 14,
  GET_STATUS: 15,
  ECHO_REQ: 16,
  ECHO_RES: 17,
  SUBMIT_JOB_BG: 18,
  ERROR: 19,
  STATUS_RES: 20,
  SUBMIT_JOB_HIGH: 21,
  SET_CLIENT_ID: 22,
  CAN_DO_TIMEOUT: 23,
  ALL_YOURS: 24,
  WORK_EXCEPTION: 25,
  OPTION_REQ: 26,
  OPTION_RES: 27,
  WORK_DATA: 28,
  WORK_WARNING: 29,
  GRAB_JOB_UNIQ: 30,
  JOB_ASSIGN_UNIQ: 31,
  SUBMIT_JOB_HIGH_BG: 32,
  SUBMIT_JOB_LOW: 33,
  SUBMIT_JOB_LOW_BG: 34,
  SUBMIT_JOB_SCHED: 35,
  SUBMIT_JOB_EPOCH: 36,
  SUBMIT_REDUCE_JOB: 37,
  SUBMIT_REDUCE_JOB_BACKGROUND: 38,
  GRAB_JOB_ALL: 39,
  JOB_ASSIGN_ALL: 40,
  GET_STATUS_UNIQUE: 41,
  STATUS_RES_UNIQUE: 42,
  // gearbox's reliable-queue extension: a worker switches it on with
  // OPTION_REQ "reliable"; other connections get INVALID_COMMAND for these.
  WORK_DECLINE: 100,
  WORK_PERMANENT_FAIL: 101,
  WORK_REPLACE: 102,
  WORK_REPLACED: 103,
  GRAB_JOB_COALESCE: 104,
  WORK_FAIL_EXIT: 105,
} as const;

const SUBMIT = ["function", "unique"];

/** Every packet type of the protocol, indexed by code (holes are undefined). */
export const COMMANDS: readonly (CommandSpec | undefined)[] = (() => {
  const rows: CommandSpec[] = [
    spec(1, "CAN_DO", "request", ["function"]),
    spec(2, "CANT_DO", "request", ["function"]),
    spec(3, "RESET_ABILITIES", "request", []),
    spec(4, "PRE_SLEEP", "request", []),
    spec(6, "NOOP", "response", []),
    spec(7, "SUBMIT_JOB", "request", SUBMIT, "data"),
    spec(8, "JOB_CREATED", "response", ["handle"]),
    spec(9, "GRAB_JOB", "request", []),
    spec(10, "NO_JOB", "response", []),
    spec(11, "JOB_ASSIGN", "response", ["handle", "function"], "data"),
    spec(12, "WORK_STATUS", "both", ["handle", "numerator", "denominator"]),
    spec(13, "WORK_COMPLETE", "both", ["handle"], "data"),
    spec(14, "WORK_FAIL", "both", ["handle"]),
    spec(15, "GET_STATUS", "request", ["handle"]),
    spec(16, "ECHO_REQ", "request", [], "data"),
    spec(17, "ECHO_RES", "response", [], "data"),
    spec(18, "SUBMIT_JOB_BG", "request", SUBMIT, "data"),
    spec(19, "ERROR", "response", ["code", "text"]),
    spec(20, "STATUS_RES", "response", ["handle", "known", "running", "numerator", "denominator"]),
    spec(21, "SUBMIT_JOB_HIGH", "request", SUBMIT, "data"),
    spec(22, "SET_CLIENT_ID", "request", ["id"]),
    spec(23, "CAN_DO_TIMEOUT", "request", ["function", "timeout"]),
    spec(24, "ALL_YOURS", "request", []),
    spec(25, "WORK_EXCEPTION", "both", ["handle"], "data"),
    spec(26, "OPTION_REQ", "request", ["option"]),
    spec(27, "OPTION_RES", "response", ["option"]),
    spec(28, "WORK_DATA", "both", ["handle"], "data"),
    spec(29, "WORK_WARNING", "both", ["handle"], "data"),
    spec(30, "GRAB_JOB_UNIQ", "request", []),
    spec(31, "JOB_ASSIGN_UNIQ", "response", ["handle", "function", "unique"], "data"),
    spec(32, "SUBMIT_JOB_HIGH_BG", "request", SUBMIT, "data"),
    spec(33, "SUBMIT_JOB_LOW", "request", SUBMIT, "data"),
    spec(34, "SUBMIT_JOB_LOW_BG", "request", SUBMIT, "data"),
    spec(35, "SUBMIT_JOB_SCHED", "request", [...SUBMIT, "minute", "hour", "day_of_month", "month", "day_of_week"], "data"),
    spec(36, "SUBMIT_JOB_EPOCH", "request", [...SUBMIT, "epoch"], "data"),
    spec(37, "SUBMIT_REDUCE_JOB", "request", [...SUBMIT, "reducer", "aggregator"], "data"),
    spec(38, "SUBMIT_REDUCE_JOB_BACKGROUND", "request", [...SUBMIT, "reducer", "aggregator"], "data"),
    spec(39, "GRAB_JOB_ALL", "request", []),
    spec(40, "JOB_ASSIGN_ALL", "response", ["handle", "function", "unique", "reducer"], "data"),
    spec(41, "GET_STATUS_UNIQUE", "request", ["unique"]),
    spec(42, "STATUS_RES_UNIQUE", "response", ["unique", "known", "running", "numerator", "denominator", "waiting"]),
    spec(100, "WORK_DECLINE", "request", ["handle", "run_after"]),
    spec(101, "WORK_PERMANENT_FAIL", "request", ["handle", "exit_status"], "message"),
    spec(102, "WORK_REPLACE", "request", ["handle"], "jobs"),
    spec(103, "WORK_REPLACED", "response", ["handle"], "handles"),
    spec(104, "GRAB_JOB_COALESCE", "request", ["prefix"]),
    spec(105, "WORK_FAIL_EXIT", "request", ["handle", "exit_status"], "message"),
  ];
  const table: (CommandSpec | undefined)[] = [];
  for (const row of rows) table[row.code] = row;
  return Object.freeze(table);
})();

/** Highest packet code defined (gearbox's extension included). */
export const MAX_COMMAND = 105;

/** The number of arguments a packet of this type carries. */
export function argumentCount(spec: CommandSpec): number {
  return spec.fields.length + (spec.tail === undefined ? 0 : 1);
}
