#!/usr/bin/env bun
/**
 * The composition root: parses argv with commander and runs a subcommand.
 *
 * @module
 */
import { Command } from "commander";
import { VERSION } from "../server/server.ts";
import { addServeCommand } from "./serve.ts";
import { addJobsCommand } from "./jobs.ts";
import { addSchedulesCommand } from "./schedules.ts";
import { addSubmitCommand } from "./submit.ts";
import { addWorkCommand } from "./work.ts";
import { addAdminCommands } from "./admin.ts";
import { addDriveCommand } from "./drive.ts";
import { addTopCommand } from "./top.ts";
import { addStoreCommand } from "./store.ts";
import { exitOnUsageError } from "./exit_status.ts";

export function buildProgram(): Command {
  // The name is set explicitly: argv[1] of a compiled binary is a virtual path.
  const program = new Command()
    .name("gearbox")
    .description("Gearman-compatible job server, durable store, worker supervisor and terminal UI")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    // Set before the subcommands are added, so each inherits it: every parse error exits 64.
    .exitOverride(exitOnUsageError);
  addServeCommand(program);
  addJobsCommand(program);
  addSchedulesCommand(program);
  addStoreCommand(program);
  addSubmitCommand(program);
  addWorkCommand(program);
  addAdminCommands(program);
  addDriveCommand(program);
  addTopCommand(program);
  return program;
}

if (import.meta.main) {
  await buildProgram().parseAsync(process.argv);
}
