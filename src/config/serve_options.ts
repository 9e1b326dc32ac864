/**
 * Every setting of `gearbox serve`, each defined once, as one row: key
 * (config file, `GEARBOX_<KEY>`, `--flag`, property), type, bounds, unit,
 * default, help, and where its value goes (`to`: the core's options, the
 * connection's limits, the edge's timers). The flags, the file and
 * environment validation, `createServer`'s check, `--help`, the core
 * options and the README's table (tests/config/readme_settings.test.ts)
 * all derive from it. Adding a setting is adding a row, and reading it
 * where `to` puts it.
 *
 * @module
 */
import type { Camel, Setting, SettingsOf } from "./setting.ts";
import { defaultsOf } from "./settings_table.ts";

const MAX_INT = 2 ** 31 - 1;

export const SERVE_OPTIONS = [
  { key: "port", type: "int", default: 4730, short: "-p", arg: "<port>", min: 0, max: 65535, help: "TCP port (0 picks a free one)" },
  { key: "listen", type: "string", default: "127.0.0.1", short: "-L", arg: "<address>", help: "address to bind; 0.0.0.0 exposes the server to the network" },
  { key: "store", type: "string", default: "sqlite:gearbox.db", arg: "<url>", help: "where background jobs are kept: sqlite:PATH (durable), sqlite:PATH?synchronous=NORMAL (faster, not power-loss safe) or memory: (lost on exit)" },
  { key: "log_level", type: "level", default: "info", arg: "<level>", help: "debug, info, warn, error or silent" },
  { key: "log_format", type: "string", default: "text", arg: "<format>", help: "text or json" },
  { key: "job_retries", type: "int", default: 0, short: "-j", arg: "<n>", min: 0, max: MAX_INT, to: "core.jobRetries", help: "attempts before a job whose worker keeps failing is dropped with WORK_FAIL; 0 = unlimited" },
  { key: "wakeup", type: "int", default: -1, short: "-w", arg: "<n>", min: -1, max: MAX_INT, to: "core.wakeup", help: "sleeping workers woken per queued job; -1 = all, 0 = none (workers must poll)" },
  { key: "wakeup_delay", type: "number", default: 0.1, arg: "<seconds>", min: -1, max: 3600, unit: "s", to: "core.wakeupDelayMs", help: "wake more workers after this delay if the job still waits; -1 = never" },
  { key: "round_robin", type: "boolean", default: false, short: "-R", to: "core.roundRobin", help: "rotate a worker's functions after each assignment" },
  { key: "exceptions", type: "boolean", default: false, to: "core.exceptions", help: "turn the exceptions option on for every connection" },
  { key: "job_handle_prefix", type: "string", default: "", arg: "<prefix>", help: "handle prefix (default H:<host>.<boot id>)" },
  { key: "max_queue", type: "int", default: 0, arg: "<n>", min: 0, max: MAX_INT, to: "core.maxQueue", perFunction: true, help: "default queue limit per function; 0 = unlimited (admin maxqueue overrides)" },
  { key: "max_packet_size", type: "int", default: 16 * 1024 * 1024, arg: "<bytes>", min: 1024, max: 2 ** 32 - 1, to: "connection.maxPacketBody", help: "largest packet payload accepted" },
  { key: "max_admin_line", type: "int", default: 8 * 1024, arg: "<bytes>", min: 64, max: 1024 * 1024, to: "connection.maxAdminLine", help: "longest admin text line accepted" },
  { key: "max_function_name", type: "int", default: 512, arg: "<bytes>", min: 1, max: 65535, to: "core.maxFunctionName", help: "longest function name accepted" },
  { key: "max_unique", type: "int", default: 64, arg: "<bytes>", min: 1, max: 65535, to: "core.maxUnique", help: "longest unique id accepted (gearmand: 64)" },
  { key: "max_client_id", type: "int", default: 127, arg: "<bytes>", min: 1, max: 65535, to: "core.maxClientId", help: "SET_CLIENT_ID is cut to this length" },
  { key: "max_functions_per_connection", type: "int", default: 1024, arg: "<n>", min: 1, max: MAX_INT, to: "core.maxFunctionsPerConnection", help: "functions one connection may register" },
  { key: "max_functions", type: "int", default: 100_000, arg: "<n>", min: 1, max: MAX_INT, to: "core.maxFunctions", help: "function records kept at most" },
  { key: "max_connections", type: "int", default: 1024, arg: "<n>", min: 1, max: MAX_INT, help: "connections served at once; more are refused" },
  { key: "max_output_buffer", type: "int", default: 8 * 1024 * 1024, arg: "<bytes>", min: 65536, max: 2 ** 32 - 1, to: "connection.maxOutputBuffer", help: "unread output per connection before its input is paused" },
  { key: "output_stall_timeout", type: "number", default: 30, arg: "<seconds>", min: 0, max: 86400, unit: "s", to: "edge.outputStallTimeoutMs", help: "close a connection whose output stayed over the cap this long; 0 = never" },
  { key: "handshake_timeout", type: "number", default: 10, arg: "<seconds>", min: 0, max: 86400, unit: "s", to: "edge.handshakeTimeoutMs", help: "close a connection that sent no complete packet or line this long; 0 = never" },
  { key: "partial_packet_timeout", type: "number", default: 10, arg: "<seconds>", min: 0, max: 86400, unit: "s", to: "edge.partialPacketTimeoutMs", help: "a half-sent packet older than this must progress at --min-partial-rate; 0 = no deadline" },
  { key: "min_partial_rate", type: "int", default: 1024, arg: "<bytes/s>", min: 0, max: MAX_INT, to: "edge.minPartialRate", help: "slowest accepted progress of a half-sent packet after the timeout" },
  { key: "keepalive", type: "number", default: 60, arg: "<seconds>", min: 0, max: 86400, unit: "s", to: "edge.keepAliveMs", help: "TCP keepalive idle time; 0 = off" },
  { key: "drain_timeout", type: "number", default: 60, arg: "<seconds>", min: 0, max: 86400, unit: "s", to: "edge.drainTimeoutMs", help: "graceful shutdown waits this long for running and queued jobs; 0 = forever" },
  { key: "completion_commit_delay", type: "int", default: 20, arg: "<ms>", min: 0, max: 10_000, unit: "ms", to: "edge.completionCommitDelayMs", help: "deletes of finished jobs wait this long to share a commit (a crash before it re-runs them: at-least-once); 0 = commit at once" },
  { key: "grab_for", type: "number", default: 0, arg: "<seconds>", min: 0, max: 30 * 86400, unit: "s", to: "core.grabForMs", perFunction: true, help: "lease on a grabbed job: when it ends the job is offered again and the old worker's results are refused; 0 = none (per function: functions.NAME.grab_for)" },
  { key: "max_retries", type: "int", default: 0, arg: "<n>", min: 0, max: MAX_INT, to: "core.retry.maxRetries", perFunction: true, help: "a background job that fails (WORK_FAIL, WORK_EXCEPTION) runs again this many times before it fails for good; 0 = fail at once, as gearmand" },
  { key: "retry_delay", type: "number", default: 0, arg: "<seconds>", min: 0, max: 30 * 86400, unit: "s", to: "core.retry.delayMs", perFunction: true, help: "delay before the first retry" },
  { key: "retry_backoff", type: "string", default: "fixed", arg: "<kind>", choices: ["fixed", "exponential"], to: "core.retry.backoff", perFunction: true, help: "fixed, or exponential (the delay doubles with each failure)" },
  { key: "retry_delay_max", type: "number", default: 3600, arg: "<seconds>", min: 0, max: 30 * 86400, unit: "s", to: "core.retry.maxDelayMs", perFunction: true, help: "cap on the retry delay" },
  { key: "retry_jitter", type: "number", default: 0, arg: "<fraction>", min: 0, max: 1, to: "core.retry.jitter", perFunction: true, help: "random spread of the delay (0.2 = ±20%) so retries do not stampede" },
  { key: "keep_failed_for", type: "number", default: 7 * 86400, arg: "<seconds>", min: 0, max: 3650 * 86400, unit: "s", to: "core.keepFailedForMs", perFunction: true, help: "how long a background job that failed for good stays in the dead set (payload and failure log kept, `gearbox jobs retry` brings it back); 0 = forget at once (per function: functions.NAME.keep_failed_for)" },
  { key: "keep_exit_status_for", type: "number", default: 0, arg: "<seconds>", min: 0, max: 3650 * 86400, unit: "s", to: "core.keepExitStatusForMs", perFunction: true, help: "how long a completed background job's exit status is kept (TheSchwartz); 0 = not kept (per function: functions.NAME.keep_exit_status_for)" },
  { key: "max_ended_jobs", type: "int", default: 10_000, arg: "<n>", min: 0, max: 10_000_000, to: "core.maxEndedJobs", help: "ended jobs kept at most (dead set and exit statuses, in memory and in the store); the oldest go first" },
  { key: "max_payload_memory", type: "int", default: 16 * 1024 * 1024, arg: "<bytes>", min: 0, max: 2 ** 52, to: "core.maxPayloadMemory", help: "workload bytes of stored background jobs kept in memory; past it they stay on disk and are read back when a worker takes the job (the SQLite store; the memory store keeps every payload)" },
  { key: "admin_slice", type: "int", default: 1000, arg: "<n>", min: 1, max: 1_000_000, to: "core.adminSlice", help: "jobs or rows a bulk admin command (job purge, job retry all, listings) handles per turn of the event loop before others are served" },
  { key: "backup_dir", type: "string", default: "", arg: "<dir>", help: "directory where admin `store backup NAME` (gearbox store backup) writes copies of the running SQLite store; empty = backups are off" },
  { key: "backlog", type: "int", default: 511, arg: "<n>", min: 1, max: 65535, help: "listen backlog" },
  { key: "admin_shutdown", type: "boolean", default: true, negated: true, to: "core.adminShutdown", help: "refuse the admin shutdown command" },
  { key: "transport", type: "string", default: "auto", arg: "<adapter>", choices: ["auto", "node"], help: "TCP adapter: auto (the native listener on Bun, node:net elsewhere) or node (node:net on every runtime, for comparison)" },
] as const satisfies readonly Setting[];

type ServeRow = (typeof SERVE_OPTIONS)[number];
type PerFunctionRow = Extract<ServeRow, { perFunction: true }>;

/** Settings one function may override (config file, `functions: { NAME: {...} }`), by config-file key. */
export type FunctionSettings = { -readonly [R in PerFunctionRow as R["key"]]?: SettingsOf<readonly [R]>[Camel<R["key"]>] };

/** The resolved settings of a server, in the units the README gives (seconds, bytes, ms for completion_commit_delay). */
export type ServeSettings = SettingsOf<typeof SERVE_OPTIONS> & {
  /** Per-function settings from the config file's `functions:` section. */
  functions: Record<string, FunctionSettings>;
};

export const SERVE_DEFAULTS: ServeSettings = { ...defaultsOf(SERVE_OPTIONS), functions: {} };

export const PER_FUNCTION_OPTIONS: readonly Setting[] = SERVE_OPTIONS.filter((s: Setting) => s.perFunction);

export { ConfigError } from "./setting.ts";
