/**
 * Every setting of `gearbox serve`, each defined once, as one row: key
 * (config file, `GEARBOX_<KEY>`, `--flag`, property), type, bounds, unit,
 * default, help, and where its value goes (`to`: the core's options, the
 * connection's limits, the edge's timers). The flags, the file and
 * environment validation, `createServer`'s check, `--help`, the core
 * options and the README's table (tests/config/readme_settings.test.ts)
 * all derive from it. Adding a setting is adding a row, and reading it
 * where `to` puts it. The rows of a connection's limits and timeouts
 * (serve_connection_options.ts) and of retries and the dead set
 * (serve_retry_options.ts), of TLS (serve_tls_options.ts) and of the metrics endpoint
 * (serve_metrics_options.ts) are kept in files of their own and spliced in
 * here, so the table keeps one order.
 *
 * @module
 */
import { type Camel, MAX_INT, type Setting, type SettingsOf } from "./setting.ts";
import { defaultsOf } from "./settings_table.ts";
import { CONNECTION_ROWS } from "./serve_connection_options.ts";
import { RETRY_ROWS } from "./serve_retry_options.ts";
import type { ListenerConfig } from "./serve_listeners.ts";
import type { ScheduleConfig } from "./serve_schedules.ts";
import { TLS_ROWS } from "./serve_tls_options.ts";
import { METRICS_ROWS } from "./serve_metrics_options.ts";

export const SERVE_OPTIONS = [
  { key: "port", type: "int", default: 4730, short: "-p", arg: "<port>", min: 0, max: 65535, help: "TCP port (0 picks a free one)" },
  {
    key: "listen",
    type: "string",
    default: "127.0.0.1",
    short: "-L",
    arg: "<address>",
    help: "address to bind; 0.0.0.0 exposes the server to the network (refused without TLS unless --insecure)",
  },
  {
    key: "insecure",
    type: "boolean",
    default: false,
    help:
      "let the listen address accept plaintext connections from other hosts (without it a non-loopback address needs TLS); a warning is logged at every start",
  },
  {
    key: "store",
    type: "string",
    default: "sqlite:gearbox.db",
    arg: "<url>",
    help:
      "where background jobs are kept: sqlite:PATH (durable), sqlite:PATH?synchronous=NORMAL (faster, not power-loss safe), postgres://USER[:PASS]@HOST[:PORT]/DB[?pool=N] (durable, on a PostgreSQL server) or memory: (lost on exit)",
  },
  {
    key: "store_wait",
    type: "number",
    default: 0,
    arg: "<seconds>",
    min: 0,
    max: 86400,
    unit: "s",
    to: "edge.storeWaitMs",
    help: "at start, keep trying an unreachable store this long before giving up (a database still starting); 0 = give up at once",
  },
  {
    key: "node_id",
    type: "string",
    default: "",
    arg: "<id>",
    help:
      "this server's name in a cluster sharing one PostgreSQL store (default: host name and port, the first listener's with listeners, e.g. db1:4730); one process per node id",
  },
  {
    key: "node_lease",
    type: "number",
    default: 10,
    arg: "<seconds>",
    min: 1,
    max: 3600,
    unit: "s",
    to: "edge.nodeLeaseMs",
    help:
      "a cluster node whose heartbeat (every third of this) is older than this is dead: a live node adopts its jobs (PostgreSQL store only)",
  },
  ...TLS_ROWS,
  ...METRICS_ROWS,
  { key: "log_level", type: "level", default: "info", arg: "<level>", help: "debug, info, warn, error or silent" },
  { key: "log_format", type: "string", default: "text", arg: "<format>", help: "text or json" },
  {
    key: "job_retries",
    type: "int",
    default: 0,
    short: "-j",
    arg: "<n>",
    min: 0,
    max: MAX_INT,
    to: "core.jobRetries",
    help: "attempts before a job whose worker keeps failing is dropped with WORK_FAIL; 0 = unlimited",
  },
  {
    key: "wakeup",
    type: "int",
    default: -1,
    short: "-w",
    arg: "<n>",
    min: -1,
    max: MAX_INT,
    to: "core.wakeup",
    help: "sleeping workers woken per queued job; -1 = all, 0 = none (workers must poll)",
  },
  {
    key: "wakeup_delay",
    type: "number",
    default: 0.1,
    arg: "<seconds>",
    min: -1,
    max: 3600,
    unit: "s",
    to: "core.wakeupDelayMs",
    help: "wake more workers after this delay if the job still waits; -1 = never",
  },
  {
    key: "round_robin",
    type: "boolean",
    default: false,
    short: "-R",
    to: "core.roundRobin",
    help: "rotate a worker's functions after each assignment",
  },
  { key: "exceptions", type: "boolean", default: false, to: "core.exceptions", help: "turn the exceptions option on for every connection" },
  { key: "job_handle_prefix", type: "string", default: "", arg: "<prefix>", help: "handle prefix (default H:<host>.<boot id>)" },
  {
    key: "max_queue",
    type: "int",
    default: 0,
    arg: "<n>",
    min: 0,
    max: MAX_INT,
    to: "core.maxQueue",
    perFunction: true,
    help: "default queue limit per function; 0 = unlimited (admin maxqueue overrides)",
  },
  ...CONNECTION_ROWS,
  {
    key: "completion_commit_delay",
    type: "int",
    default: 20,
    arg: "<ms>",
    min: 0,
    max: 10_000,
    unit: "ms",
    to: "edge.completionCommitDelayMs",
    help: "deletes of finished jobs wait this long to share a commit (a crash before it re-runs them: at-least-once); 0 = commit at once",
  },
  ...RETRY_ROWS,
  {
    key: "max_payload_memory",
    type: "int",
    default: 16 * 1024 * 1024,
    arg: "<bytes>",
    min: 0,
    max: 2 ** 52,
    to: "core.maxPayloadMemory",
    help:
      "workload bytes of stored background jobs kept in memory; past it they stay on disk and are read back when a worker takes the job (the SQLite store; the memory store keeps every payload)",
  },
  {
    key: "workload_pool_memory",
    type: "int",
    default: 64 * 1024 * 1024,
    arg: "<bytes>",
    min: 0,
    max: 2 ** 30,
    to: "core.workloadPoolBytes",
    help:
      "bytes of the pool holding workloads up to 4 KiB (foreground jobs', committed background jobs' kept in memory) out of the garbage-collected heap (pages of 64 KiB, let go when the pool empties); past it a workload gets a buffer of its own; 0 = no pool",
  },
  {
    key: "admin_slice",
    type: "int",
    default: 1000,
    arg: "<n>",
    min: 1,
    max: 1_000_000,
    to: "core.adminSlice",
    help:
      "jobs or rows a bulk admin command (job purge, job retry all, listings) handles per turn of the event loop before others are served",
  },
  {
    key: "backup_dir",
    type: "string",
    default: "",
    arg: "<dir>",
    help:
      "directory where admin `store backup NAME` (gearbox store backup) writes copies of the running SQLite store; empty = backups are off",
  },
  { key: "backlog", type: "int", default: 511, arg: "<n>", min: 1, max: 65535, help: "listen backlog" },
  {
    key: "admin_shutdown",
    type: "boolean",
    default: true,
    negated: true,
    to: "core.adminShutdown",
    help: "refuse the admin shutdown command",
  },
  {
    key: "transport",
    type: "string",
    default: "auto",
    arg: "<adapter>",
    choices: ["auto", "node"],
    help:
      "TCP adapter: auto (the native listener on Bun, its native TLS on a TLS port; node:net / node:tls elsewhere) or node (node:net / node:tls on every runtime, for comparison)",
  },
] as const satisfies readonly Setting[];

type ServeRow = (typeof SERVE_OPTIONS)[number];
type PerFunctionRow = Extract<ServeRow, { perFunction: true }>;

/** Settings one function may override (config file, `functions: { NAME: {...} }`), by config-file key. */
export type FunctionSettings = { -readonly [R in PerFunctionRow as R["key"]]?: SettingsOf<readonly [R]>[Camel<R["key"]>] };

/** The resolved settings of a server, in the units the README gives (seconds, bytes, ms for completion_commit_delay). */
export type ServeSettings = SettingsOf<typeof SERVE_OPTIONS> & {
  /** Per-function settings from the config file's `functions:` section. */
  functions: Record<string, FunctionSettings>;
  /** The config file's `listeners:` or the `--listener` flags (serve_listeners.ts); empty: one, `listen`:`port`. */
  listeners: ListenerConfig[];
  /** The config file's `schedules:` (serve_schedules.ts, docs/schedules.md). */
  schedules: ScheduleConfig[];
};

export const SERVE_DEFAULTS: ServeSettings = { ...defaultsOf(SERVE_OPTIONS), functions: {}, listeners: [], schedules: [] };

export const PER_FUNCTION_OPTIONS: readonly Setting[] = SERVE_OPTIONS.filter((s: Setting) => s.perFunction);
