/**
 * `gearbox serve`: builds the settings from files, environment and flags,
 * starts the server, and maps signals: SIGTERM/SIGINT stop (a second one
 * exits at once), SIGUSR1 drains, SIGHUP rereads the TLS files.
 *
 * @module
 */
import { EXIT } from "./exit_status.ts";
import type { Command } from "commander";
import { resolveSettings, settingsFromEnv } from "../config/load_config.ts";
import { loadConfigFile } from "../config/serve_file.ts";
import { SERVE_OPTIONS, type ServeSettings } from "../config/serve_options.ts";
import { ConfigError } from "../config/setting.ts";
import { parseListeners, parseListenerSpec } from "../config/serve_listeners.ts";
import { addFlags, fromFlags } from "../config/settings_table.ts";
import { tuneAllocator } from "../runtime/allocator.ts";
import { onSignals } from "../runtime/host_and_process.ts";
import { createServer } from "../server/server.ts";
import { StoreError } from "../store/job_store.ts";
import { TlsFileError } from "../runtime/tls_files.ts";

export function addServeCommand(program: Command): void {
  const cmd = program
    .command("serve")
    .description("run the Gearman job server")
    .option("-c, --config <file...>", "YAML config file(s); later files override earlier ones")
    .option(
      "--listener <spec...>",
      "a listener HOST:PORT[,roles=client+worker][,tls][,insecure], repeatable; replaces listen/port and the config's listeners",
    );
  addFlags(cmd, SERVE_OPTIONS);
  cmd.addHelpText(
    "after",
    "\nEvery flag is also a config-file key (snake_case, e.g. max_packet_size) and an\nenvironment variable (GEARBOX_MAX_PACKET_SIZE). Precedence: file < environment < flag.",
  );
  cmd.action(async (_opts, command: Command) => {
    tuneAllocator(); // may start the process again in place, with the allocator's settings (allocator.ts)
    const code = await serve(command);
    // A stopped (or failed) server has nothing left to do: exit, once stderr is flushed, even if a
    // library still holds a handle (the database driver's reconnect timer can outlive its pool).
    await new Promise<void>((r) => process.stderr.write("", () => r()));
    process.exit(code);
  });
}

async function serve(command: Command): Promise<number> {
  let settings: ServeSettings;
  try {
    const files = (command.opts().config as string[] | undefined) ?? [];
    const specs = (command.opts().listener as string[] | undefined) ?? [];
    const listeners = specs.length > 0 ? { listeners: parseListeners(specs.map(parseListenerSpec), "--listener") } : {};
    settings = resolveSettings([...files.map(loadConfigFile), settingsFromEnv(process.env), fromFlags(SERVE_OPTIONS, command), listeners]);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`gearbox serve: ${e.message}\n`);
      return EXIT.config;
    }
    throw e;
  }
  let server;
  try {
    server = createServer(settings);
    await server.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof ConfigError || e instanceof TlsFileError) {
      process.stderr.write(`gearbox serve: ${e.message}\n`);
      return EXIT.config;
    }
    if (err.code === "EADDRINUSE" && settings.metricsListen !== "" && !server?.metrics) {
      process.stderr.write(`gearbox serve: ${settings.metricsListen} (metrics_listen) is already in use\n`);
    } else if (err.code === "EADDRINUSE") process.stderr.write(`gearbox serve: ${settings.listen}:${settings.port} is already in use\n`);
    else if (err.code === "EACCES") process.stderr.write(`gearbox serve: not allowed to listen on ${settings.listen}:${settings.port}\n`);
    else if (e instanceof StoreError) process.stderr.write(`gearbox serve: ${e.message}\n`);
    else process.stderr.write(`gearbox serve: cannot start: ${err.message}\n`);
    return EXIT.failed;
  }
  let signals = 0;
  const unhook = onSignals(["SIGTERM", "SIGINT", "SIGUSR1", "SIGHUP"], (signal) => {
    if (signal === "SIGHUP") {
      server.reloadTls();
      return;
    }
    if (signal === "SIGUSR1") {
      void server.drain();
      return;
    }
    if (++signals > 1) {
      process.stderr.write("gearbox serve: second signal, exiting now\n");
      process.exit(130);
    }
    server.logger.info("signal received, stopping", { signal });
    void server.stop();
  });
  await server.done;
  unhook();
  if (server.lost !== undefined) {
    process.stderr.write(`gearbox serve: ${server.lost}\n`);
    return EXIT.failed;
  }
  return 0;
}
