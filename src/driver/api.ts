/**
 * The supervisor as a library, after Gearman::Driver's programmatic
 * interface: `new Driver(settings)`, `addJob` (Gearman::Driver's
 * `add_job`), `getJobs`, `getJob`, `hasJob`, `run` and `shutdown`. Settings
 * are `gearbox drive`'s, by their camelCase names, checked as the command
 * line checks them.
 *
 * @module
 */
import { appendFileSync, existsSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DriverJob } from "../client/driver_console.ts";
import { type CommandJobConfig, DRIVE_DEFAULTS, DRIVE_OPTIONS, driveSetting, type DriveSettings, merge } from "../config/drive_options.ts";
import { ConfigError } from "../config/setting.ts";
import { camel } from "../config/setting.ts";
import { type Level, Logger } from "../log/logger.ts";
import { importFile, scriptCommand, selfCommand } from "../runtime/load.ts";
import { Supervisor } from "./driver.ts";
import type { JobDefinition } from "./job_definition.ts";
import { loadJobs } from "./loader.ts";
import { workerModuleOf } from "./worker_module.ts";

/** Settings of a {@link Driver}: `gearbox drive`'s, by camelCase name (defaults as `gearbox drive --help` says). */
export interface DriverOptions extends Partial<Omit<DriveSettings, "daemonize" | "pidfile">> {
  /** Where the log goes (default: made from `logfile`, `loglevel` and `loglayout`, on stderr without a logfile). */
  logger?: Logger;
  /**
   * The command a worker process runs, with the job in its environment.
   * Default: gearbox's own worker entry (from the sources, with this
   * runtime), or `gearbox __worker` inside gearbox's compiled binary.
   */
  childCommand?: readonly string[];
}

/** Options of {@link Driver.addJob} common to both kinds of job. */
interface JobOptionsBase {
  /** The job's name in the console and the log; a module job's name gets the module's prefix, as in Gearman::Driver. */
  name: string;
  /** Processes always running (default 1; a module job: the largest of its methods'). */
  min_processes?: number;
  /** Processes at most (default: min, at least 1; a module job: the largest of its methods'). */
  max_processes?: number;
  /** Seconds the oldest waiting job may wait: processes are added to keep it under (gearbox servers; others: queue depth). */
  target_wait?: number;
}

/** A job whose processes run handlers of a worker module (see `defineWorker`). */
export interface ModuleJobOptions extends JobOptionsBase {
  /** The worker module's file (`.ts`/`.js`); each process imports it. */
  module: string;
  /** The module's jobs these processes run (Gearman::Driver's `methods`; default: the one named `name`). */
  methods?: string[];
  /** Passed to `begin`, `end` and each handler, over `workerOptions` for GLOBAL and the module. */
  options?: Record<string, unknown>;
}

/** A job whose processes run a program once per job (workload on stdin, stdout the result). */
export interface CommandJobOptions extends JobOptionsBase {
  command: string[];
  /** The functions it registers (default: the job's name). */
  functions?: string[];
  /** Seconds a job may run; then the program is killed and the job fails ("timed out after N s", exit status 124). */
  timeout?: number;
}

export type AddJobOptions = ModuleJobOptions | CommandJobOptions;

const STRUCTURED: Record<string, string> = {
  server: "server",
  namespaces: "namespaces",
  workerOptions: "worker_options",
  jobRuntimeAttributes: "job_runtime_attributes",
  jobs: "jobs",
};

/**
 * Supervises worker processes for one or more Gearman servers: scales each
 * job between its min and max processes with the queues, replaces
 * processes that die, and answers on the management console, as
 * `gearbox drive` does. Handlers live in worker modules (files), because
 * each process is a new runtime that imports them: there is no fork.
 *
 * @example
 * ```ts
 * import { Driver } from "./mod.ts";
 * const driver = new Driver({ server: ["127.0.0.1:4730"], consolePort: "auto", maxIdleTime: 30 });
 * // Two jobs of one module in the same processes (Gearman::Driver's add_job with two methods):
 * await driver.addJob({
 *   name: "images",
 *   module: "./workers/images.ts",
 *   methods: ["resize", "thumbnail"],
 *   min_processes: 1,
 *   max_processes: 4,
 * });
 * await driver.addJob({ name: "shell_rev", command: ["rev"], max_processes: 2, timeout: 30 });
 * driver.hasJob("images::images"); // true: the module's prefix comes first
 * process.once("SIGTERM", () => void driver.shutdown());
 * await driver.run(); // until shutdown()
 * ```
 */
export class Driver {
  readonly #settings: DriveSettings;
  readonly #supervisor: Supervisor;
  readonly #logger: Logger;
  readonly #added = new Set<string>();
  #running: Promise<void> | undefined;

  constructor(options: DriverOptions = {}) {
    this.#settings = { ...DRIVE_DEFAULTS, ...checked(options) };
    const s = this.#settings;
    this.#logger = options.logger ?? new Logger({
      level: s.loglevel as Level,
      format: s.loglayout as "text" | "json",
      write: s.logfile ? (line) => appendFileSync(s.logfile, line + "\n") : undefined,
    });
    this.#supervisor = new Supervisor({
      settings: s,
      jobs: [],
      logger: this.#logger,
      childCommand: options.childCommand ?? defaultChildCommand(),
    });
  }

  /** The console's port once running (undefined before, or when `consolePort` is 0). */
  get consolePort(): number | undefined {
    return this.#supervisor.consolePort;
  }

  /**
   * Adds a job (Gearman::Driver's `add_job`), before or while running. A
   * module job imports the module here, to check its methods and learn its
   * prefix. Resolves with the job as {@link Driver.getJob} gives it; rejects
   * when the name is taken, a method is missing, or min is above max.
   */
  async addJob(job: AddJobOptions): Promise<DriverJob> {
    const def = "module" in job ? await moduleJob(job, this.#settings) : commandJob(job);
    const attrs = this.#settings.jobRuntimeAttributes[def.name];
    if (attrs?.min_processes !== undefined) def.min = attrs.min_processes;
    if (attrs?.max_processes !== undefined) def.max = attrs.max_processes;
    this.#supervisor.addJob(def);
    this.#added.add(def.name);
    return this.getJob(def.name)!;
  }

  /** Every job, ordered by name, with its processes and lastrun/lasterror. */
  getJobs(): DriverJob[] {
    return this.#supervisor.statusJson().jobs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** One job by name (a module job's name includes the module's prefix). */
  getJob(name: string): DriverJob | undefined {
    return this.#supervisor.statusJson().jobs.find((j) => j.name === name);
  }

  hasJob(name: string): boolean {
    return this.#supervisor.groups().some((g) => g.name === name);
  }

  /**
   * Loads `namespaces` and the `jobs` of the settings, starts the processes,
   * the observer and the console; resolves once all that runs.
   */
  async start(): Promise<void> {
    const s = this.#settings;
    // Runtime attributes of jobs added here were applied by addJob; loadJobs checks the others.
    const rest = Object.fromEntries(Object.entries(s.jobRuntimeAttributes).filter(([name]) => !this.#added.has(name)));
    for (const def of await loadJobs({ ...s, jobRuntimeAttributes: rest })) this.#supervisor.addJob(def);
    if (this.#supervisor.groups().length === 0) throw new Error("no jobs: addJob() first, or give namespaces or jobs");
    await this.#supervisor.start();
  }

  /** Starts (see {@link Driver.start}) and resolves when the driver has stopped. */
  run(): Promise<void> {
    this.#running ??= this.start().then(() => this.#supervisor.done);
    return this.#running;
  }

  /** Lets every process finish its job (up to `drainTimeout`), stops them, and resolves when the driver has stopped. */
  async shutdown(): Promise<void> {
    await this.#supervisor.stop();
  }
}

/** The settings, checked key by key as a config file's are; errors name the key. */
function checked(options: DriverOptions): Partial<DriveSettings> {
  let out: Partial<DriveSettings> = {};
  for (const [prop, value] of Object.entries(options)) {
    if (value === undefined || prop === "logger" || prop === "childCommand") continue;
    const key = STRUCTURED[prop] ?? DRIVE_OPTIONS.find((o) => camel(o.key) === prop)?.key;
    if (key === undefined) throw new ConfigError(`new Driver: unknown setting ${JSON.stringify(prop)}`);
    out = merge(out, driveSetting(key, value, "new Driver"));
  }
  return out;
}

function commandJob(job: CommandJobOptions): JobDefinition {
  // The config file's checks, with the same messages.
  const cfg: CommandJobConfig = driveSetting("jobs", {
    [job.name]: {
      command: job.command,
      ...(job.functions && { functions: job.functions }),
      ...(job.min_processes !== undefined && { min_processes: job.min_processes }),
      ...(job.max_processes !== undefined && { max_processes: job.max_processes }),
      ...(job.timeout !== undefined && { timeout: job.timeout }),
      ...(job.target_wait !== undefined && { target_wait: job.target_wait }),
    },
  }, "addJob").jobs![job.name]!;
  const min = cfg.min_processes ?? 1;
  return {
    name: job.name,
    functions: cfg.functions ?? [job.name],
    min,
    max: cfg.max_processes ?? Math.max(min, 1),
    timeoutMs: cfg.timeout === undefined ? undefined : cfg.timeout * 1000,
    ...(cfg.target_wait === undefined ? {} : { targetWaitMs: cfg.target_wait * 1000 }),
    kind: "command",
    command: cfg.command,
  };
}

async function moduleJob(job: ModuleJobOptions, settings: DriveSettings): Promise<JobDefinition> {
  const file = resolve(job.module);
  const mod = workerModuleOf(await importFile(file), file);
  const stem = basename(file, extname(file));
  const prefix = mod.prefix ?? `${stem}::`;
  const methods = job.methods ?? [job.name];
  if (methods.length === 0) throw new Error(`addJob ${job.name}: methods is empty`);
  const defs = methods.map((m) => {
    const d = mod.jobs[m];
    if (!d) throw new Error(`addJob ${job.name}: ${file} has no job ${JSON.stringify(m)} (it has: ${Object.keys(mod.jobs).join(", ")})`);
    return d;
  });
  const min = job.min_processes ?? Math.max(...defs.map((d) => d.min_processes ?? 1));
  const max = job.max_processes ?? Math.max(min, ...defs.map((d) => d.max_processes ?? d.min_processes ?? 1));
  const timeouts = defs.flatMap((d) => (d.timeout === undefined ? [] : [d.timeout * 1000]));
  return {
    name: prefix + job.name,
    functions: methods.map((m) => prefix + m),
    min,
    max,
    timeoutMs: timeouts.length === 0 ? undefined : Math.max(...timeouts),
    ...(job.target_wait === undefined ? {} : { targetWaitMs: checkedTargetWait(job.name, job.target_wait) * 1000 }),
    kind: "module",
    module: file,
    prefix,
    members: methods,
    options: { ...settings.workerOptions.GLOBAL, ...settings.workerOptions[stem], ...job.options },
  };
}

/** A module job's target_wait, with the config file's check and message. */
function checkedTargetWait(name: string, seconds: number): number {
  return driveSetting("job_runtime_attributes", { [name]: { target_wait: seconds } }, "addJob").jobRuntimeAttributes![name]!.target_wait!;
}

/** gearbox's worker entry from the sources with this runtime, or the compiled binary's `__worker`. */
function defaultChildCommand(): string[] {
  const url = new URL("./child_main.ts", import.meta.url);
  const path = url.protocol === "file:" ? fileURLToPath(url) : "";
  if (path !== "" && !path.startsWith("/$bunfs/") && existsSync(path)) return scriptCommand(path);
  return [...selfCommand(), "__worker"];
}
