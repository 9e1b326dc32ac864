/**
 * `gearbox top`: the live terminal UI. Ink and React are imported only
 * here, lazily, so the other subcommands start without them.
 *
 * @module
 */
import { EXIT } from "./exit_status.ts";
import type { Command } from "commander";
import { collectServers } from "./output.ts";

interface TopFlags {
  server?: string[];
  console?: string[];
  interval: string;
  readOnly?: boolean;
  token?: string;
}

export function addTopCommand(program: Command): void {
  program
    .command("top")
    .description("live terminal UI: queues, worker processes, lastrun/lasterror, scaling events; keys to act")
    .option("-s, --server <host:port>", "a job server to watch (repeat or comma-separate; gearbox or any Gearman server)", collectServers)
    .option("-C, --console <host:port>", "a gearbox drive console (repeat or comma-separate)", collectServers)
    .option("-i, --interval <seconds>", "refresh interval", "1")
    .option("--token <token>", "the drive console token, if it has one")
    .option("--read-only", "disable the keys that change things (+, -, K, R)")
    .action(async (flags: TopFlags) => {
      const interval = Number(flags.interval);
      if (!(interval >= 0.1 && interval <= 3600)) {
        process.stderr.write(`gearbox top: --interval must be between 0.1 and 3600 seconds, got ${flags.interval}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      if (!process.stdin.isTTY) {
        process.stderr.write("gearbox top: needs a terminal (stdin is not a TTY); use `gearbox status --json` for scripts\n");
        process.exitCode = EXIT.usage;
        return;
      }
      const { runTop } = await import("../../tui/main.tsx");
      await runTop({
        servers: flags.server ?? ["127.0.0.1:4730"],
        consoles: flags.console ?? [],
        token: flags.token,
        intervalMs: Math.round(interval * 1000),
        readOnly: flags.readOnly === true,
      });
      process.exit(0);
    });
}
