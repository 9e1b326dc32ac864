/**
 * `gearbox top`: the live terminal UI. Ink and React are imported only
 * here, lazily, so the other subcommands start without them.
 *
 * @module
 */
import { EXIT } from "./exit_status.ts";
import type { Command } from "commander";
import { collectServers } from "./output.ts";
import { ConfigError } from "../config/setting.ts";
import { addFlags, fromFlags, project } from "../config/settings_table.ts";
import { TOP_DEFAULTS, TOP_OPTIONS, type TopSettings } from "../config/top_options.ts";
import { tlsClientFiles } from "../config/tls_client_options.ts";
import { ClientError } from "../client/client_error.ts";
import { type ClientTlsConfig, resolveTls } from "../client/tls_options.ts";

export function addTopCommand(program: Command): void {
  const cmd = program
    .command("top")
    .description("live terminal UI: queues, cluster nodes, worker processes, lastrun/lasterror, scaling events; keys to act")
    .option("-s, --server <host:port>", "a job server to watch (repeat or comma-separate; gearbox or any Gearman server)", collectServers)
    .option("-C, --console <host:port>", "a gearbox drive console (repeat or comma-separate)", collectServers);
  addFlags(cmd, TOP_OPTIONS);
  cmd.action(async (flags: { server?: string[]; console?: string[] }, command: Command) => {
    let settings: TopSettings;
    let tls: ClientTlsConfig | undefined;
    try {
      settings = { ...TOP_DEFAULTS, ...fromFlags(TOP_OPTIONS, command) };
      tls = resolveTls(tlsClientFiles(settings));
    } catch (e) {
      if (!(e instanceof ConfigError || e instanceof ClientError)) throw e;
      // A flag is all top has: a bad one is a usage error, as before the table.
      process.stderr.write(`gearbox top: ${e.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (!process.stdin.isTTY) {
      process.stderr.write("gearbox top: needs a terminal (stdin is not a TTY); use `gearbox status --json` for scripts\n");
      process.exitCode = EXIT.usage;
      return;
    }
    const { tui } = project(TOP_OPTIONS, settings) as { tui: { intervalMs: number } };
    const { runTop } = await import("../../tui/main.tsx");
    await runTop({
      servers: flags.server ?? ["127.0.0.1:4730"],
      consoles: flags.console ?? [],
      token: settings.token === "" ? undefined : settings.token,
      intervalMs: Math.round(tui.intervalMs),
      readOnly: settings.readOnly,
      tls,
    });
    process.exit(0);
  });
}
