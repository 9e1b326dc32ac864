/**
 * Every setting of `gearbox drive`: scalar keys in one table (each is a
 * config-file key, a flag and an environment variable), and the structured
 * sections (`worker_options`, `job_runtime_attributes`, `jobs`) validated
 * here too. Errors name the key and the file or flag it came from. Reading
 * YAML files is drive_file.ts's, so that the library (`Driver` in mod.ts)
 * needs no YAML parser.
 *
 * @module
 */
import { ConfigError, type Setting, type SettingsOf } from "./setting.ts";
import { isLoopback } from "./serve_listeners.ts";
import { defaultsOf, fromKey, project } from "./settings_table.ts";
import { TLS_CLIENT_ROWS } from "./tls_client_options.ts";
import { RUN_ROWS } from "./drive_run_options.ts";
import { METRICS_ROWS } from "./serve_metrics_options.ts";

/** A command job: a program run per job, workload on stdin. */
export interface CommandJobConfig {
  command: string[];
  /** Functions it registers (default: the job's name). */
  functions?: string[];
  min_processes?: number;
  max_processes?: number;
  /** Seconds a job may run before its process is killed. */
  timeout?: number;
  /** Seconds the oldest waiting job may wait: scale on wait time (servers that report it). */
  target_wait?: number;
}

/** Overrides for a job or process group, without touching its code. */
export interface RuntimeAttributes {
  min_processes?: number;
  max_processes?: number;
  target_wait?: number;
}

/**
 * Scalar settings, each defined once: key (config file, `GEARBOX_DRIVE_<KEY>`,
 * `--flag`, property), type, bounds, unit, default, help, and `to`: where the
 * supervisor reads it, in ms (driveTimes).
 */
export const DRIVE_OPTIONS = [
  {
    key: "interval",
    type: "number",
    default: 5,
    arg: "<seconds>",
    min: 0.05,
    max: 3600,
    unit: "s",
    to: "timers.intervalMs",
    help:
      "how often the observer reads the jobs waiting on the servers (not those scheduled for later) and scales; from 0.05 (Gearman::Driver's 0, no observer, is refused)",
  },
  {
    key: "max_idle_time",
    type: "number",
    default: 60,
    arg: "<seconds>",
    min: 0,
    max: 86400 * 30,
    unit: "s",
    to: "timers.maxIdleMs",
    help: "a process above min that had no job this long is stopped when nothing waits; 0 = at once (Gearman::Driver's default is 0)",
  },
  {
    key: "console_port",
    type: "int",
    default: 47300,
    arg: "<port>",
    min: 0,
    max: 65535,
    word: { word: "auto", means: "a free port" },
    help: "management console port; 0 = no console (as Gearman::Driver), auto = a free port, named in the log",
  },
  {
    key: "console_host",
    type: "string",
    default: "127.0.0.1",
    arg: "<address>",
    help: "management console address; an address other hosts can reach needs console_token or console_tls_cert (or console_insecure)",
  },
  { key: "console_token", type: "string", default: "", arg: "<token>", help: "if set, a console connection must send `auth TOKEN` first" },
  ...TLS_CLIENT_ROWS,
  {
    key: "console_tls_cert",
    type: "string",
    default: "",
    arg: "<file>",
    help: "PEM certificate of the console: set with console_tls_key, the console speaks TLS only",
  },
  { key: "console_tls_key", type: "string", default: "", arg: "<file>", help: "PEM private key of console_tls_cert" },
  {
    key: "console_insecure",
    type: "boolean",
    default: false,
    help: "let a console that other hosts can reach run without console_token; a warning is logged at every start",
  },
  {
    key: "logfile",
    type: "string",
    default: "",
    arg: "<path>",
    help: "append the log here instead of stderr (Gearman::Driver's default was gearman_driver.log)",
  },
  { key: "loglevel", type: "level", default: "info", arg: "<level>", help: "debug, info, warn, error or silent" },
  {
    key: "loglayout",
    type: "string",
    default: "text",
    arg: "<layout>",
    choices: ["text", "json"],
    help: "text (one readable line per event) or json; not a Log4perl pattern as in Gearman::Driver",
  },
  {
    key: "drain_timeout",
    type: "number",
    default: 30,
    arg: "<seconds>",
    min: 0,
    max: 86400,
    unit: "s",
    to: "timers.drainTimeoutMs",
    help: "on SIGTERM, children get this long to finish their job before SIGKILL",
  },
  {
    key: "restart_delay",
    type: "number",
    default: 1,
    arg: "<seconds>",
    min: 0,
    max: 3600,
    unit: "s",
    to: "restart.restartDelayMs",
    help: "first delay before a crashed process is replaced; doubles with each crash in a row",
  },
  {
    key: "restart_delay_max",
    type: "number",
    default: 60,
    arg: "<seconds>",
    min: 0,
    max: 86400,
    unit: "s",
    to: "restart.restartDelayMaxMs",
    help: "longest delay between restarts",
  },
  {
    key: "crash_loop_after",
    type: "int",
    default: 5,
    arg: "<n>",
    min: 1,
    max: 1000,
    to: "restart.crashLoopAfter",
    help: "crashes in a row (each before stable_after) that put a job in the crash-loop state",
  },
  {
    key: "stable_after",
    type: "number",
    default: 30,
    arg: "<seconds>",
    min: 0,
    max: 86400,
    unit: "s",
    to: "restart.stableAfterMs",
    help: "a process that lived this long resets its job's crash count",
  },
  {
    key: "unknown_job_command",
    type: "string",
    default: "",
    arg: "<command>",
    help: "shell command run (with GEARBOX_FUNCTION, GEARBOX_QUEUED set) when queued jobs have no configured worker",
  },
  ...RUN_ROWS,
  ...METRICS_ROWS,
  { key: "daemonize", type: "boolean", default: false, help: "detach from the terminal (use with --logfile and --pidfile)" },
  { key: "pidfile", type: "string", default: "", arg: "<path>", help: "write the driver's pid here" },
] as const satisfies readonly Setting[];

/** The structured sections: validated below, not scalar rows. */
export interface DriveSections {
  server: string[];
  namespaces: string[];
  workerOptions: Record<string, Record<string, unknown>>;
  jobRuntimeAttributes: Record<string, RuntimeAttributes>;
  jobs: Record<string, CommandJobConfig>;
}

export type DriveSettings = SettingsOf<typeof DRIVE_OPTIONS> & DriveSections;

/** The supervisor's timers and restart policy, durations in ms: the one place drive converts seconds. */
export interface DriveTimes {
  timers: { intervalMs: number; maxIdleMs: number; drainTimeoutMs: number };
  restart: { restartDelayMs: number; restartDelayMaxMs: number; crashLoopAfter: number; stableAfterMs: number };
}

export function driveTimes(settings: DriveSettings): DriveTimes {
  return project(DRIVE_OPTIONS, settings) as unknown as DriveTimes;
}

/**
 * No accidental exposure: a console other hosts can reach (console_host not
 * loopback) needs `console_token` or TLS (`console_tls_cert` and
 * `console_tls_key`, both or neither) unless `console_insecure`; returns the
 * warning to log at start for an insecure one.
 */
export function checkConsoleExposure(
  settings: Pick<
    DriveSettings,
    "consoleHost" | "consolePort" | "consoleToken" | "consoleInsecure" | "consoleTlsCert" | "consoleTlsKey"
  >,
): string | undefined {
  if ((settings.consoleTlsCert === "") !== (settings.consoleTlsKey === "")) {
    throw new ConfigError(
      `console_tls_cert and console_tls_key go together: ${
        settings.consoleTlsCert === "" ? "console_tls_key" : "console_tls_cert"
      } is set alone`,
    );
  }
  const guarded = settings.consoleToken !== "" || settings.consoleTlsCert !== "";
  if (settings.consolePort === 0 || isLoopback(settings.consoleHost) || guarded) return undefined;
  const where = `console_host ${settings.consoleHost}`;
  if (!settings.consoleInsecure) {
    throw new ConfigError(
      `${where} is reachable from other hosts, and without console_token anyone there could stop or kill your workers. ` +
        `Set console_token (--console-token TOKEN) or TLS (--console-tls-cert FILE --console-tls-key FILE), keep the console on loopback (--console-host 127.0.0.1), ` +
        `turn it off (--console-port 0), or, on a network you trust, say so with --console-insecure`,
    );
  }
  return `the console on ${settings.consoleHost} has no token (console_insecure: true): anyone who can reach it may stop or kill workers`;
}

export const DRIVE_DEFAULTS: DriveSettings = {
  ...defaultsOf(DRIVE_OPTIONS),
  server: ["127.0.0.1:4730"],
  namespaces: [],
  workerOptions: {},
  jobRuntimeAttributes: {},
  jobs: {},
};

/** A non-empty string, or an error naming `where`. */
function text(raw: unknown, where: string): string {
  if (typeof raw !== "string" || raw === "") throw new ConfigError(`${where} must be a non-empty string, got ${JSON.stringify(raw)}`);
  return raw;
}

function list(raw: unknown, where: string): string[] {
  if (typeof raw === "string") return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!Array.isArray(raw)) throw new ConfigError(`${where} must be a list (or a comma-separated string), got ${JSON.stringify(raw)}`);
  return raw.map((v, i) => text(v, `${where}[${i}]`));
}

/** A mapping (null and undefined: an empty one), or an error naming `where`. */
export function mapping(raw: unknown, where: string): Record<string, unknown> {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(`${where} must be a mapping, got ${JSON.stringify(raw)}`);
  return raw as Record<string, unknown>;
}

function count(raw: unknown, where: string): number {
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 0 || raw > 10_000) {
    throw new ConfigError(`${where} must be a whole number from 0 to 10000, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

/** A target_wait: seconds, from 0.1 to a day. */
function targetWait(raw: unknown, where: string): number {
  if (typeof raw !== "number" || !(raw >= 0.1 && raw <= 86400)) {
    throw new ConfigError(`${where} must be a number of seconds from 0.1 to 86400, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

function attributes(raw: unknown, where: string): RuntimeAttributes {
  const out: RuntimeAttributes = {};
  for (const [k, v] of Object.entries(mapping(raw, where))) {
    if (k === "min_processes" || k === "max_processes") out[k] = count(v, `${where}.${k}`);
    else if (k === "target_wait") out[k] = targetWait(v, `${where}.${k}`);
    else throw new ConfigError(`${where}: unknown key ${JSON.stringify(k)} (known: min_processes, max_processes, target_wait)`);
  }
  if (out.min_processes !== undefined && out.max_processes !== undefined && out.min_processes > out.max_processes) {
    throw new ConfigError(`${where}: min_processes (${out.min_processes}) is above max_processes (${out.max_processes})`);
  }
  return out;
}

function commandJob(raw: unknown, where: string): CommandJobConfig {
  const m = mapping(raw, where);
  if (m.command === undefined) throw new ConfigError(`${where}.command is missing (a list: [program, args...])`);
  const job: CommandJobConfig = {
    command: Array.isArray(m.command) ? list(m.command, `${where}.command`) : ["sh", "-c", text(m.command, `${where}.command`)],
  };
  for (const [k, v] of Object.entries(m)) {
    if (k === "command") continue;
    if (k === "functions") job.functions = list(v, `${where}.functions`);
    else if (k === "min_processes" || k === "max_processes") job[k] = count(v, `${where}.${k}`);
    else if (k === "timeout") {
      if (typeof v !== "number" || !(v > 0)) {
        throw new ConfigError(`${where}.timeout must be a positive number of seconds, got ${JSON.stringify(v)}`);
      }
      job.timeout = v;
    } else if (k === "target_wait") job.target_wait = targetWait(v, `${where}.${k}`);
    else {throw new ConfigError(
        `${where}: unknown key ${JSON.stringify(k)} (known: command, functions, min_processes, max_processes, timeout, target_wait)`,
      );}
  }
  if (job.min_processes !== undefined && job.max_processes !== undefined && job.min_processes > job.max_processes) {
    throw new ConfigError(`${where}: min_processes (${job.min_processes}) is above max_processes (${job.max_processes})`);
  }
  return job;
}

/** The structured sections, validated. */
function structured(key: string, raw: unknown, origin: string): Partial<DriveSettings> {
  const where = `${origin}: ${key}`;
  switch (key) {
    case "server":
      return { server: list(raw, where) };
    case "namespaces":
      return { namespaces: list(raw, where) };
    case "worker_options": {
      const out: Record<string, Record<string, unknown>> = {};
      for (const [mod, opts] of Object.entries(mapping(raw, where))) out[mod] = mapping(opts, `${where}.${mod}`);
      return { workerOptions: out };
    }
    case "job_runtime_attributes": {
      const out: Record<string, RuntimeAttributes> = {};
      for (const [job, attrs] of Object.entries(mapping(raw, where))) out[job] = attributes(attrs, `${where}.${job}`);
      return { jobRuntimeAttributes: out };
    }
    case "jobs": {
      const out: Record<string, CommandJobConfig> = {};
      for (const [name, job] of Object.entries(mapping(raw, where))) out[name] = commandJob(job, `${where}.${name}`);
      return { jobs: out };
    }
  }
  throw new ConfigError(`${where}: unknown setting`);
}

const STRUCTURED = ["server", "namespaces", "worker_options", "job_runtime_attributes", "jobs"];

/** One setting from a file, an environment variable or a flag. */
export function driveSetting(key: string, raw: unknown, origin: string): Partial<DriveSettings> {
  if (STRUCTURED.includes(key)) return structured(key, raw, origin);
  const entry = fromKey(DRIVE_OPTIONS, key, raw, origin);
  if (!entry) {
    throw new ConfigError(
      `${origin}: unknown setting ${JSON.stringify(key)} (known: ${[...STRUCTURED, ...DRIVE_OPTIONS.map((o) => o.key)].join(", ")})`,
    );
  }
  return { [entry[0]]: entry[1] } as Partial<DriveSettings>;
}

/** Later layers win; structured mappings merge by key, lists are replaced. */
export function merge(base: Partial<DriveSettings>, over: Partial<DriveSettings>): Partial<DriveSettings> {
  const out: Partial<DriveSettings> = { ...base, ...over };
  if (base.workerOptions && over.workerOptions) out.workerOptions = { ...base.workerOptions, ...over.workerOptions };
  if (base.jobRuntimeAttributes && over.jobRuntimeAttributes) {
    out.jobRuntimeAttributes = { ...base.jobRuntimeAttributes, ...over.jobRuntimeAttributes };
  }
  if (base.jobs && over.jobs) out.jobs = { ...base.jobs, ...over.jobs };
  return out;
}

/** Settings from `GEARBOX_DRIVE_<KEY>` variables (structured ones as JSON). */
export function driveSettingsFromEnv(env: Record<string, string | undefined>): Partial<DriveSettings> {
  let out: Partial<DriveSettings> = {};
  for (const key of [...STRUCTURED, ...DRIVE_OPTIONS.map((o) => o.key)]) {
    const name = `GEARBOX_DRIVE_${key.toUpperCase()}`;
    const v = env[name];
    if (v === undefined || v === "") continue;
    out = merge(
      out,
      driveSetting(
        key,
        STRUCTURED.includes(key) && /^[[{]/.test(v.trim()) ? jsonValue(v, `environment ${name}`) : v,
        `environment ${name}`,
      ),
    );
  }
  return out;
}

/** A flag or variable holding JSON, or an error naming it. */
export function jsonValue(raw: string, origin: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new ConfigError(`${origin}: not valid JSON: ${(e as Error).message}`);
  }
}
