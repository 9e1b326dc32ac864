/**
 * `gearbox jobs` over several servers, the nodes of a cluster
 * (docs/cluster.md §5) or unrelated servers alike: each command goes to every server at once,
 * and the answers are put together here. A listing is merged; a command about
 * one handle is answered by the server that owns the job (the others answer
 * `UNKNOWN_JOB`), since a handle names its node only by a prefix the CLI
 * cannot map to an address; `retry --all` and `purge` run on each and count
 * the sum. A server that does not answer is named, and the others are still
 * shown: the caller prints what came and exits with the worst status.
 *
 * @module
 */
import type { Command } from "commander";
import { positiveInteger } from "./arguments.ts";

import { addTlsFlags } from "./tls_flags.ts";
import { AdminError, AdminSession } from "../client/admin_session.ts";
import type { ClientTlsConfig } from "../client/tls_options.ts";
import { EXIT } from "./exit_status.ts";
import { collectServers, warn } from "./output.ts";

/** The flags of a command that asks several servers: `-s` (repeat or comma-separate), `--timeout`, `--json` and the TLS flags. */
export function serverQueryFlags(c: Command): Command {
  return addTlsFlags(
    c.option("-s, --server <host:port>", "a gearbox server (repeat or comma-separate for several; default 127.0.0.1:4730)", collectServers)
      .option("--timeout <ms>", "connect and reply deadline", positiveInteger, 5000)
      .option("--json", "JSON instead of a table"),
  );
}

/** One server's answer: its value, or what went wrong. */
export type Answer<T> = { server: string; value: T } | { server: string; error: Error };

/** Runs `action` on every server at once, each on its own session; never throws. */
export async function askEach<T>(
  servers: string[],
  timeoutMs: number,
  action: (admin: AdminSession) => Promise<T>,
  tls?: ClientTlsConfig,
): Promise<Answer<T>[]> {
  return await Promise.all(servers.map(async (server): Promise<Answer<T>> => {
    let admin: AdminSession | undefined;
    try {
      admin = await AdminSession.open(server, timeoutMs, tls);
      return { server, value: await action(admin) };
    } catch (e) {
      return { server, error: e instanceof Error ? e : new Error(String(e)) };
    } finally {
      admin?.close();
    }
  }));
}

/** The exit status a failed answer earns: 1 when the server refused, 2 when it could not be reached or did not reply. */
export function failureStatus(error: Error): number {
  return error instanceof AdminError ? EXIT.failed : EXIT.unreachable;
}

/**
 * Warns about every failed answer (naming its server when there are several,
 * or when it could not be reached; `server` is empty for a verdict of all)
 * and sets the exit status to the worst; the values of the others.
 */
export function settle<T>(answers: Answer<T>[], several = answers.length > 1): { server: string; value: T }[] {
  let exit = 0;
  const values: { server: string; value: T }[] = [];
  for (const a of answers) {
    if ("value" in a) {
      values.push(a);
      continue;
    }
    const name = a.server !== "" && (several || !(a.error instanceof AdminError));
    warn("jobs", name ? named(a.server, a.error.message) : a.error.message);
    exit = Math.max(exit, failureStatus(a.error));
  }
  if (exit > 0) process.exitCode = exit;
  return values;
}

/**
 * A command about one handle: the answers of the servers that know the job
 * (an `UNKNOWN_JOB` refusal means "not mine"). When none knows it, the
 * refusal stands (of all servers, with no server named), or, when a server
 * could not be asked, its failure: the job may be there.
 */
export function owners<T>(answers: Answer<T>[]): Answer<T>[] {
  const known = answers.filter((a) => !("error" in a && a.error instanceof AdminError && a.error.code === "UNKNOWN_JOB"));
  if (known.length > 0) {
    const answered = known.filter((a) => !("error" in a) || a.error instanceof AdminError);
    return answered.length > 0 ? answered : known;
  }
  if (answers.length === 1) return answers;
  return [{ server: "", error: new AdminError("UNKNOWN_JOB", `none of the ${answers.length} servers has this job`) }];
}

/** `server: message`, the server named once. */
function named(server: string, message: string): string {
  return message.startsWith(`${server}: `) ? message : `${server}: ${message}`;
}
