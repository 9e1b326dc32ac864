/**
 * Every setting of `gearbox serve` in one table: its config-file key, its
 * flag, its type, bounds, default and help. The CLI builds its flags from
 * it, the config loader validates files against it, and the README's table
 * of limits is printed from it (`gearbox serve --help`).
 *
 * @module
 */

export type OptionType = "int" | "number" | "string" | "boolean" | "level";

export interface OptionSpec<P extends string = keyof ServeSettings> {
  /** Key in the config file (snake_case) and in the settings object (camelCase). */
  readonly key: string;
  readonly prop: P;
  readonly flag: string;
  readonly type: OptionType;
  readonly help: string;
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of a string setting. */
  readonly choices?: readonly string[];
}

/** Settings one function may override (config file, `functions: { NAME: {...} }`). */
export interface FunctionSettings {
  /** Lease in seconds on a grabbed job; 0 = none. */
  grab_for?: number;
  /** Queue limit; 0 = unlimited. */
  max_queue?: number;
  max_retries?: number;
  retry_delay?: number;
  retry_backoff?: string;
  retry_delay_max?: number;
  retry_jitter?: number;
  keep_failed_for?: number;
  keep_exit_status_for?: number;
}

/** The resolved settings of a server. */
export interface ServeSettings {
  port: number;
  listen: string;
  store: string;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  logFormat: string;
  jobRetries: number;
  wakeup: number;
  wakeupDelay: number;
  roundRobin: boolean;
  exceptions: boolean;
  jobHandlePrefix: string;
  maxQueue: number;
  maxPacketSize: number;
  maxAdminLine: number;
  maxFunctionName: number;
  maxUnique: number;
  maxClientId: number;
  maxFunctionsPerConnection: number;
  maxFunctions: number;
  maxConnections: number;
  maxOutputBuffer: number;
  outputStallTimeout: number;
  handshakeTimeout: number;
  partialPacketTimeout: number;
  minPartialRate: number;
  keepalive: number;
  drainTimeout: number;
  completionCommitDelay: number;
  grabFor: number;
  maxRetries: number;
  retryDelay: number;
  retryBackoff: string;
  retryDelayMax: number;
  retryJitter: number;
  keepFailedFor: number;
  keepExitStatusFor: number;
  maxEndedJobs: number;
  maxPayloadMemory: number;
  adminSlice: number;
  backupDir: string;
  /** Per-function settings from the config file's `functions:` section. */
  functions: Record<string, FunctionSettings>;
  backlog: number;
  adminShutdown: boolean;
}

export const SERVE_DEFAULTS: ServeSettings = {
  port: 4730,
  listen: "127.0.0.1",
  store: "sqlite:gearbox.db",
  logLevel: "info",
  logFormat: "text",
  jobRetries: 0,
  wakeup: -1,
  wakeupDelay: 0.1,
  roundRobin: false,
  exceptions: false,
  jobHandlePrefix: "",
  maxQueue: 0,
  maxPacketSize: 16 * 1024 * 1024,
  maxAdminLine: 8 * 1024,
  maxFunctionName: 512,
  maxUnique: 64,
  maxClientId: 127,
  maxFunctionsPerConnection: 1024,
  maxFunctions: 100_000,
  maxConnections: 1024,
  maxOutputBuffer: 8 * 1024 * 1024,
  outputStallTimeout: 30,
  handshakeTimeout: 10,
  partialPacketTimeout: 10,
  minPartialRate: 1024,
  keepalive: 60,
  drainTimeout: 60,
  completionCommitDelay: 20,
  keepFailedFor: 7 * 86400,
  keepExitStatusFor: 0,
  maxEndedJobs: 10_000,
  maxPayloadMemory: 16 * 1024 * 1024,
  adminSlice: 1000,
  backupDir: "",
  grabFor: 0,
  maxRetries: 0,
  retryDelay: 0,
  retryBackoff: "fixed",
  retryDelayMax: 3600,
  retryJitter: 0,
  functions: {},
  backlog: 511,
  adminShutdown: true,
};

const MAX_INT = 2 ** 31 - 1;

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { key: "port", prop: "port", flag: "-p, --port <port>", type: "int", min: 0, max: 65535, help: "TCP port (0 picks a free one)" },
  { key: "listen", prop: "listen", flag: "-L, --listen <address>", type: "string", help: "address to bind; 0.0.0.0 exposes the server to the network" },
  { key: "store", prop: "store", flag: "--store <url>", type: "string", help: "where background jobs are kept: sqlite:PATH (durable), sqlite:PATH?synchronous=NORMAL (faster, not power-loss safe) or memory: (lost on exit)" },
  { key: "log_level", prop: "logLevel", flag: "--log-level <level>", type: "level", help: "debug, info, warn, error or silent" },
  { key: "log_format", prop: "logFormat", flag: "--log-format <format>", type: "string", help: "text or json" },
  { key: "job_retries", prop: "jobRetries", flag: "-j, --job-retries <n>", type: "int", min: 0, max: MAX_INT, help: "attempts before a job whose worker keeps failing is dropped with WORK_FAIL; 0 = unlimited" },
  { key: "wakeup", prop: "wakeup", flag: "-w, --wakeup <n>", type: "int", min: -1, max: MAX_INT, help: "sleeping workers woken per queued job; -1 = all, 0 = none (workers must poll)" },
  { key: "wakeup_delay", prop: "wakeupDelay", flag: "--wakeup-delay <seconds>", type: "number", min: -1, max: 3600, help: "wake more workers after this delay if the job still waits; -1 = never" },
  { key: "round_robin", prop: "roundRobin", flag: "-R, --round-robin", type: "boolean", help: "rotate a worker's functions after each assignment" },
  { key: "exceptions", prop: "exceptions", flag: "--exceptions", type: "boolean", help: "turn the exceptions option on for every connection" },
  { key: "job_handle_prefix", prop: "jobHandlePrefix", flag: "--job-handle-prefix <prefix>", type: "string", help: "handle prefix (default H:<host>.<boot id>)" },
  { key: "max_queue", prop: "maxQueue", flag: "--max-queue <n>", type: "int", min: 0, max: MAX_INT, help: "default queue limit per function; 0 = unlimited (admin maxqueue overrides)" },
  { key: "max_packet_size", prop: "maxPacketSize", flag: "--max-packet-size <bytes>", type: "int", min: 1024, max: 2 ** 32 - 1, help: "largest packet payload accepted" },
  { key: "max_admin_line", prop: "maxAdminLine", flag: "--max-admin-line <bytes>", type: "int", min: 64, max: 1024 * 1024, help: "longest admin text line accepted" },
  { key: "max_function_name", prop: "maxFunctionName", flag: "--max-function-name <bytes>", type: "int", min: 1, max: 65535, help: "longest function name accepted" },
  { key: "max_unique", prop: "maxUnique", flag: "--max-unique <bytes>", type: "int", min: 1, max: 65535, help: "longest unique id accepted (gearmand: 64)" },
  { key: "max_client_id", prop: "maxClientId", flag: "--max-client-id <bytes>", type: "int", min: 1, max: 65535, help: "SET_CLIENT_ID is cut to this length" },
  { key: "max_functions_per_connection", prop: "maxFunctionsPerConnection", flag: "--max-functions-per-connection <n>", type: "int", min: 1, max: MAX_INT, help: "functions one connection may register" },
  { key: "max_functions", prop: "maxFunctions", flag: "--max-functions <n>", type: "int", min: 1, max: MAX_INT, help: "function records kept at most" },
  { key: "max_connections", prop: "maxConnections", flag: "--max-connections <n>", type: "int", min: 1, max: MAX_INT, help: "connections served at once; more are refused" },
  { key: "max_output_buffer", prop: "maxOutputBuffer", flag: "--max-output-buffer <bytes>", type: "int", min: 65536, max: 2 ** 32 - 1, help: "unread output per connection before its input is paused" },
  { key: "output_stall_timeout", prop: "outputStallTimeout", flag: "--output-stall-timeout <seconds>", type: "number", min: 0, max: 86400, help: "close a connection whose output stayed over the cap this long; 0 = never" },
  { key: "handshake_timeout", prop: "handshakeTimeout", flag: "--handshake-timeout <seconds>", type: "number", min: 0, max: 86400, help: "close a connection that sent no complete packet or line this long; 0 = never" },
  { key: "partial_packet_timeout", prop: "partialPacketTimeout", flag: "--partial-packet-timeout <seconds>", type: "number", min: 0, max: 86400, help: "a half-sent packet older than this must progress at --min-partial-rate; 0 = no deadline" },
  { key: "min_partial_rate", prop: "minPartialRate", flag: "--min-partial-rate <bytes/s>", type: "int", min: 0, max: MAX_INT, help: "slowest accepted progress of a half-sent packet after the timeout" },
  { key: "keepalive", prop: "keepalive", flag: "--keepalive <seconds>", type: "number", min: 0, max: 86400, help: "TCP keepalive idle time; 0 = off" },
  { key: "drain_timeout", prop: "drainTimeout", flag: "--drain-timeout <seconds>", type: "number", min: 0, max: 86400, help: "graceful shutdown waits this long for running and queued jobs; 0 = forever" },
  { key: "completion_commit_delay", prop: "completionCommitDelay", flag: "--completion-commit-delay <ms>", type: "int", min: 0, max: 10_000, help: "deletes of finished jobs wait this long to share a commit (a crash before it re-runs them: at-least-once); 0 = commit at once" },
  { key: "grab_for", prop: "grabFor", flag: "--grab-for <seconds>", type: "number", min: 0, max: 30 * 86400, help: "lease on a grabbed job: when it ends the job is offered again and the old worker's results are refused; 0 = none (per function: functions.NAME.grab_for)" },
  { key: "max_retries", prop: "maxRetries", flag: "--max-retries <n>", type: "int", min: 0, max: MAX_INT, help: "a background job that fails (WORK_FAIL, WORK_EXCEPTION) runs again this many times before it fails for good; 0 = fail at once, as gearmand" },
  { key: "retry_delay", prop: "retryDelay", flag: "--retry-delay <seconds>", type: "number", min: 0, max: 30 * 86400, help: "delay before the first retry" },
  { key: "retry_backoff", prop: "retryBackoff", flag: "--retry-backoff <kind>", type: "string", choices: ["fixed", "exponential"], help: "fixed, or exponential (the delay doubles with each failure)" },
  { key: "retry_delay_max", prop: "retryDelayMax", flag: "--retry-delay-max <seconds>", type: "number", min: 0, max: 30 * 86400, help: "cap on the retry delay" },
  { key: "retry_jitter", prop: "retryJitter", flag: "--retry-jitter <fraction>", type: "number", min: 0, max: 1, help: "random spread of the delay (0.2 = ±20%) so retries do not stampede" },
  { key: "keep_failed_for", prop: "keepFailedFor", flag: "--keep-failed-for <seconds>", type: "number", min: 0, max: 3650 * 86400, help: "how long a background job that failed for good stays in the dead set (payload and failure log kept, `gearbox jobs retry` brings it back); 0 = forget at once (per function: functions.NAME.keep_failed_for)" },
  { key: "keep_exit_status_for", prop: "keepExitStatusFor", flag: "--keep-exit-status-for <seconds>", type: "number", min: 0, max: 3650 * 86400, help: "how long a completed background job's exit status is kept (TheSchwartz); 0 = not kept (per function: functions.NAME.keep_exit_status_for)" },
  { key: "max_ended_jobs", prop: "maxEndedJobs", flag: "--max-ended-jobs <n>", type: "int", min: 0, max: 10_000_000, help: "ended jobs kept at most (dead set and exit statuses, in memory and in the store); the oldest go first" },
  { key: "max_payload_memory", prop: "maxPayloadMemory", flag: "--max-payload-memory <bytes>", type: "int", min: 0, max: 2 ** 52, help: "workload bytes of stored background jobs kept in memory; past it they stay on disk and are read back when a worker takes the job (the SQLite store; the memory store keeps every payload)" },
  { key: "backup_dir", prop: "backupDir", flag: "--backup-dir <dir>", type: "string", help: "directory where admin `store backup NAME` (gearbox store backup) writes copies of the running SQLite store; empty = backups are off" },
  { key: "backlog", prop: "backlog", flag: "--backlog <n>", type: "int", min: 1, max: 65535, help: "listen backlog" },
  { key: "admin_slice", prop: "adminSlice", flag: "--admin-slice <n>", type: "int", min: 1, max: 1_000_000, help: "jobs or rows a bulk admin command (job purge, job retry all, listings) handles per turn of the event loop before others are served" },
  { key: "admin_shutdown", prop: "adminShutdown", flag: "--no-admin-shutdown", type: "boolean", help: "refuse the admin shutdown command" },
];

/** A setting that failed validation; names the key and where it came from. */
export class ConfigError extends Error {
  readonly code = "INVALID_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const LEVEL_NAMES = ["debug", "info", "warn", "error", "silent"];

/** Checks and converts one value; `origin` names the file or flag for the error. */
export function coerceOption(spec: OptionSpec<string>, raw: unknown, origin: string): unknown {
  const where = `${origin}: ${spec.key}`;
  switch (spec.type) {
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "false") return raw === "true";
      throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(raw)}`);
    case "level":
      if (typeof raw === "string" && LEVEL_NAMES.includes(raw.toLowerCase())) return raw.toLowerCase();
      throw new ConfigError(`${where} must be one of ${LEVEL_NAMES.join(", ")}, got ${JSON.stringify(raw)}`);
    case "string":
      if (spec.choices && !spec.choices.includes(String(raw))) {
        throw new ConfigError(`${where} must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(raw)}`);
      }
      if (typeof raw === "string" || typeof raw === "number") return String(raw);
      throw new ConfigError(`${where} must be a string, got ${JSON.stringify(raw)}`);
    case "int":
    case "number": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
      if (!Number.isFinite(n) || (spec.type === "int" && !Number.isInteger(n))) {
        throw new ConfigError(`${where} must be ${spec.type === "int" ? "an integer" : "a number"}, got ${JSON.stringify(raw)}`);
      }
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new ConfigError(`${where} must be between ${spec.min} and ${spec.max}, got ${n}`);
      }
      return n;
    }
  }
}

/** Validates a parsed config file (a mapping of snake_case keys) into partial settings. */
export function settingsFromFile(doc: unknown, origin: string): Partial<ServeSettings> {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(`${origin}: the top level must be a mapping of settings`);
  const section = (doc as Record<string, unknown>).serve ?? doc;
  if (typeof section !== "object" || section === null) throw new ConfigError(`${origin}: serve must be a mapping`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section)) {
    if (key === "functions") {
      out.functions = functionsFromFile(value, origin);
      continue;
    }
    const spec = SERVE_OPTIONS.find((o) => o.key === key);
    if (!spec) {
      if (key === "serve") continue;
      throw new ConfigError(`${origin}: unknown setting ${JSON.stringify(key)} (known: ${SERVE_OPTIONS.map((o) => o.key).join(", ")}, functions)`);
    }
    out[spec.prop] = coerceOption(spec, value, origin);
  }
  return out as Partial<ServeSettings>;
}

const FUNCTION_KEYS: Record<keyof FunctionSettings, OptionSpec> = {
  grab_for: { key: "grab_for", prop: "grabFor", flag: "", type: "number", min: 0, max: 30 * 86400, help: "" },
  max_queue: { key: "max_queue", prop: "maxQueue", flag: "", type: "int", min: 0, max: MAX_INT, help: "" },
  max_retries: { key: "max_retries", prop: "maxRetries", flag: "", type: "int", min: 0, max: MAX_INT, help: "" },
  retry_delay: { key: "retry_delay", prop: "retryDelay", flag: "", type: "number", min: 0, max: 30 * 86400, help: "" },
  retry_backoff: { key: "retry_backoff", prop: "retryBackoff", flag: "", type: "string", choices: ["fixed", "exponential"], help: "" },
  retry_delay_max: { key: "retry_delay_max", prop: "retryDelayMax", flag: "", type: "number", min: 0, max: 30 * 86400, help: "" },
  retry_jitter: { key: "retry_jitter", prop: "retryJitter", flag: "", type: "number", min: 0, max: 1, help: "" },
  keep_failed_for: { key: "keep_failed_for", prop: "keepFailedFor", flag: "", type: "number", min: 0, max: 3650 * 86400, help: "" },
  keep_exit_status_for: { key: "keep_exit_status_for", prop: "keepExitStatusFor", flag: "", type: "number", min: 0, max: 3650 * 86400, help: "" },
};

function functionsFromFile(doc: unknown, origin: string): Record<string, FunctionSettings> {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(`${origin}: functions must map function names to settings`);
  const out: Record<string, FunctionSettings> = {};
  for (const [name, settings] of Object.entries(doc)) {
    // deno-lint-ignore no-control-regex
    if (!/^[^\s\x00-\x1f\x7f]{1,512}$/.test(name)) throw new ConfigError(`${origin}: functions: ${JSON.stringify(name)} is not a valid function name`);
    if (typeof settings !== "object" || settings === null || Array.isArray(settings)) {
      throw new ConfigError(`${origin}: functions.${name} must be a mapping of settings`);
    }
    const fn: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(settings)) {
      const spec = FUNCTION_KEYS[key as keyof FunctionSettings];
      if (!spec) throw new ConfigError(`${origin}: functions.${name}: unknown setting ${JSON.stringify(key)} (known: ${Object.keys(FUNCTION_KEYS).join(", ")})`);
      fn[key] = coerceOption(spec, value, `${origin}: functions.${name}`);
    }
    out[name] = fn as FunctionSettings;
  }
  return out;
}
