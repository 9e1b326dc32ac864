/**
 * `gearbox drive`: the worker supervisor. Settings come from YAML files
 * (`--config`, several allowed), `GEARBOX_DRIVE_*` variables and flags, in
 * that order; the structured sections (worker_options,
 * job_runtime_attributes, jobs) are flags too, as JSON. The hidden
 * subcommand `__worker` is what each supervised process runs.
 *
 * @module
 */
import { EXIT } from "./exit_status.ts";
import { TlsFileError } from "../runtime/tls_files.ts";
import { appendFileSync, rmSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError } from "../config/setting.ts";
import {
  checkConsoleExposure,
  DRIVE_DEFAULTS,
  DRIVE_OPTIONS,
  driveSetting,
  type DriveSettings,
  driveSettingsFromEnv,
  jsonValue,
  merge,
} from "../config/drive_options.ts";
import { loadDriveFile } from "../config/drive_file.ts";
import { camel } from "../config/setting.ts";
import { addFlags, fromFlags } from "../config/settings_table.ts";
import { runChild } from "../driver/child.ts";
import { Supervisor } from "../driver/driver.ts";
import { loadJobs } from "../driver/loader.ts";
import { type Level, Logger } from "../log/logger.ts";
import { selfCommand } from "../runtime/load.ts";
import { spawnDetached } from "../runtime/process.ts";
import { onSignals } from "../runtime/host_and_process.ts";
import { collectServers } from "./output.ts";

const STRUCTURED_FLAGS: [flag: string, key: string, help: string][] = [
  ["--worker-options <json>", "worker_options", "options per worker module (GLOBAL for all), as JSON"],
  ["--job-runtime-attributes <json>", "job_runtime_attributes", "min/max processes per job or group, as JSON"],
  ["--jobs <json>", "jobs", "command jobs {NAME: {command: [...], min_processes, max_processes, timeout}}, as JSON"],
];

export function addDriveCommand(program: Command): void {
  const cmd = program
    .command("drive")
    .description("supervise worker processes: scale them with the queues, restart, log, and answer on a console")
    .option("-c, --config <file...>", "YAML config file(s); later files override earlier ones")
    .option("-s, --server <host:port>", "a job server to watch and work for (repeat or comma-separate)", collectServers)
    .option("-n, --namespaces <path...>", "worker modules: .ts/.js files or directories of them");
  addFlags(cmd, DRIVE_OPTIONS);
  for (const [flag, , help] of STRUCTURED_FLAGS) cmd.option(flag, help);
  cmd.addHelpText(
    "after",
    `
Every flag is also a config-file key (snake_case, e.g. max_idle_time) and an environment
variable (GEARBOX_DRIVE_MAX_IDLE_TIME). Precedence: file < environment < flag.
Console (default 127.0.0.1:47300; --console-port 0 turns it off, auto picks a free port):
status, status json, show JOB, events, set_min_processes, set_max_processes,
set_processes, kill PID..., killall JOB...|*, quit, shutdown, help.
A job's timeout fails that job ("timed out after N s", exit status 124); a module's
process then exits and is replaced. A command job that exits N fails with exit status N.`,
  );
  cmd.action(async (_o, command: Command) => {
    process.exitCode = await drive(command);
  });

  program
    .command("__worker", { hidden: true })
    .description("a supervised worker process (run by gearbox drive)")
    .action(async () => {
      const spec = process.env.GEARBOX_WORKER_SPEC;
      if (!spec) {
        process.stderr.write("gearbox __worker: run by gearbox drive only\n");
        process.exitCode = EXIT.usage;
        return;
      }
      try {
        process.exitCode = await runChild(spec);
      } catch (e) {
        process.stderr.write(`worker process failed: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
      // A module may leave handles open; the worker is done.
      process.exit(process.exitCode);
    });
}

function settingsFrom(command: Command): DriveSettings {
  const o = command.opts();
  let layers: Partial<DriveSettings> = {};
  for (const file of (o.config as string[] | undefined) ?? []) layers = merge(layers, loadDriveFile(file));
  layers = merge(layers, driveSettingsFromEnv(process.env));
  if (o.server) layers = merge(layers, driveSetting("server", o.server, "flag --server"));
  if (o.namespaces) layers = merge(layers, driveSetting("namespaces", o.namespaces, "flag --namespaces"));
  layers = merge(layers, fromFlags(DRIVE_OPTIONS, command) as Partial<DriveSettings>);
  for (const [flag, key] of STRUCTURED_FLAGS) {
    const prop = camel(key);
    if (o[prop] !== undefined) {
      layers = merge(layers, driveSetting(key, jsonValue(o[prop], `flag ${flag.split(" ")[0]}`), `flag ${flag.split(" ")[0]}`));
    }
  }
  const settings = { ...DRIVE_DEFAULTS, ...layers };
  checkConsoleExposure(settings);
  return settings;
}

async function drive(command: Command): Promise<number> {
  let settings: DriveSettings;
  try {
    settings = settingsFrom(command);
  } catch (e) {
    process.stderr.write(`gearbox drive: ${(e as Error).message}\n`);
    return e instanceof ConfigError ? EXIT.config : EXIT.failed;
  }
  if (settings.daemonize) {
    const argv = [...selfCommand(), ...process.argv.slice(2).filter((a) => a !== "--daemonize")];
    const pid = spawnDetached(argv, { GEARBOX_DRIVE_DAEMONIZE: "false" });
    process.stdout.write(`gearbox drive: running as pid ${pid}\n`);
    return 0;
  }
  const logger = new Logger({
    level: settings.loglevel as Level,
    format: settings.loglayout as "text" | "json",
    write: settings.logfile ? (line) => appendFileSync(settings.logfile, line + "\n") : undefined,
  });
  let jobs;
  try {
    jobs = await loadJobs(settings);
  } catch (e) {
    process.stderr.write(`gearbox drive: ${(e as Error).message}\n`);
    return EXIT.config;
  }
  if (jobs.length === 0) {
    process.stderr.write("gearbox drive: no jobs: give --namespaces (worker modules) or jobs: in a config file\n");
    return EXIT.config;
  }
  let driver: Supervisor;
  try {
    driver = new Supervisor({ settings, jobs, logger });
  } catch (e) {
    // A server address or a TLS file the observer could not take.
    process.stderr.write(`gearbox drive: ${(e as Error).message}\n`);
    return EXIT.config;
  }
  try {
    await driver.start();
  } catch (e) {
    process.stderr.write(`gearbox drive: ${(e as Error).message}\n`);
    return e instanceof TlsFileError ? EXIT.config : EXIT.failed;
  }
  if (settings.pidfile) writeFileSync(settings.pidfile, `${process.pid}\n`);
  let signals = 0;
  const off = onSignals(["SIGTERM", "SIGINT"], (signal) => {
    if (++signals > 1) {
      logger.warn("second signal: exiting without draining", { signal });
      process.exit(1);
    }
    logger.info("signal: draining", { signal });
    void driver.stop();
  });
  await driver.done;
  off();
  if (settings.pidfile) rmSync(settings.pidfile, { force: true });
  return 0;
}
