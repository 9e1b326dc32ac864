/**
 * `gearbox status`, `gearbox workers` and `gearbox admin COMMAND...`:
 * gearadmin's reach against gearbox, gearmand or Gearman::Server, as
 * aligned tables or `--json`, over one or more servers. Exit status: 0 ok,
 * 1 the server answered ERR, 2 a server was unreachable, 64 bad usage.
 *
 * @module
 */
import { EXIT } from "./exit_status.ts";
import { type Command } from "commander";
import { AdminClient, AdminError } from "../client/admin_client.ts";
import { positiveInteger } from "./arguments.ts";
import { collectServers, print, table, warn } from "./output.ts";
import { addTlsFlags, type TlsFlags, tlsFromFlags } from "./tls_flags.ts";

interface AdminFlags extends TlsFlags {
  server?: string[];
  timeout: number;
  json?: boolean;
}

type Row = Record<string, string | number | string[]>;

/** How the rows of a listed reply become columns, for the commands whose format is known. */
const LISTINGS: Record<string, { columns: string[]; rows: (admin: AdminClient) => Promise<Row[]> }> = {
  status: {
    columns: ["function", "queued", "running", "workers"],
    rows: async (a) => (await a.status()) as unknown as Row[],
  },
  prioritystatus: {
    columns: ["function", "high", "normal", "low", "workers"],
    rows: async (a) => (await a.priorityStatus()) as unknown as Row[],
  },
  workers: {
    columns: ["fd", "address", "clientId", "functions"],
    rows: async (a) => (await a.workers()) as unknown as Row[],
  },
  "show jobs": {
    columns: ["handle", "retries", "ignoreJob", "jobQueued"],
    rows: async (a) => (await a.showJobs()) as unknown as Row[],
  },
  "show unique jobs": {
    columns: ["unique"],
    rows: async (a) => (await a.showUniqueJobs()).map((unique) => ({ unique })),
  },
};

export function addAdminCommands(program: Command): void {
  const common = (c: Command) =>
    addTlsFlags(
      c.option("-s, --server <host:port>", "a server to ask (repeat or comma-separate for several)", collectServers)
        .option("--timeout <ms>", "connect and reply deadline", positiveInteger, 5000)
        .option("--json", "JSON instead of a table"),
    );

  common(program.command("status").description("functions with queued and running jobs and available workers (gearadmin --status)"))
    .option("--priority", "queued jobs per priority (prioritystatus)")
    .action((flags: AdminFlags & { priority?: boolean }) => run("status", flags.priority ? "prioritystatus" : "status", flags));

  common(program.command("workers").description("connected workers and their functions (gearadmin --workers)"))
    .action((flags: AdminFlags) => run("workers", "workers", flags));

  common(
    program.command("admin")
      .description("any admin command (version, getpid, maxqueue F N, cancel job H, show jobs, create function F, ...)")
      .argument("<command...>", "the admin command and its arguments"),
  ).action((words: string[], flags: AdminFlags) => run("admin", words.join(" "), flags));
}

/** Runs one admin command on every server; `name` is the subcommand that speaks in messages. */
async function run(name: string, command: string, flags: AdminFlags): Promise<void> {
  const servers = flags.server ?? ["127.0.0.1:4730"];
  const listing = LISTINGS[command.toLowerCase()];
  const several = servers.length > 1;
  const results: Row[] = [];
  const shown = table([...(several ? ["SERVER"] : []), ...(listing?.columns ?? ["reply"]).map((c) => c.toUpperCase())]);
  let exit = 0;
  let tls;
  try {
    tls = tlsFromFlags(flags);
  } catch (e) {
    warn(name, (e as Error).message);
    process.exitCode = EXIT.usage;
    return;
  }
  for (const server of servers) {
    let admin: AdminClient;
    try {
      admin = new AdminClient({ server, timeoutMs: flags.timeout, tls });
    } catch (e) {
      warn(name, (e as Error).message);
      process.exitCode = EXIT.usage;
      return;
    }
    try {
      const rows: Row[] = listing ? await listing.rows(admin) : (await admin.command(command)).lines.map((reply) => ({ reply }));
      if (!listing && rows.length === 1 && /^ERR /.test(String(rows[0]!.reply))) {
        throw new AdminError("ERR", String(rows[0]!.reply).slice(4));
      }
      for (const row of rows) {
        results.push(several ? { server: admin.server, ...row } : row);
        const cells = (listing?.columns ?? ["reply"]).map((c) => Array.isArray(row[c]) ? (row[c] as string[]).join(" ") : String(row[c]));
        shown.push(several ? [admin.server, ...cells] : cells);
      }
    } catch (e) {
      const unreachable = !(e instanceof AdminError);
      warn(name, withServer(admin.server, (e as Error).message, !unreachable));
      results.push({ server: admin.server, error: (e as Error).message });
      exit = Math.max(exit, unreachable ? EXIT.unreachable : EXIT.failed);
    } finally {
      admin.close();
    }
  }
  if (flags.json) print(JSON.stringify(results, null, 2));
  else if (shown.length > 0) print(shown.toString());
  process.exitCode = exit;
}

/** `server: [refused: ]message`, naming the server once even when the message already starts with it. */
export function withServer(server: string, message: string, refused: boolean): string {
  const rest = message.startsWith(`${server}: `) ? message.slice(server.length + 2) : message;
  return `${server}: ${refused ? "refused: " : ""}${rest}`;
}
