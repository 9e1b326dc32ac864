/**
 * `gearbox jobs`: the operator's view of gearbox servers' reliable queues,
 * over the `job` admin command: list jobs by function and state, show one
 * with its failure log and exit status, retry failed ones, cancel, purge.
 * With several `-s` servers (a cluster's nodes) it sees them all
 * (jobs_servers.ts). Tables on a terminal, `--json` for tools. Exit status:
 * 0 done, 1 a server refused (unknown job, not failed...), 2 a server
 * unreachable (the others' answers still shown), 64 bad usage.
 *
 * @module
 */
import { EXIT } from "./exit_status.ts";
import { type Command, Option } from "commander";
import { parseNodeRow } from "../client/admin_client.ts";
import type { AdminSession } from "../client/admin_session.ts";
import { positiveInteger } from "./arguments.ts";
import { type Answer, askEach, owners, serverQueryFlags, settle } from "./jobs_servers.ts";
import { print, printable, table, time, warn } from "./output.ts";
import { type TlsFlags, tlsFromFlags } from "./tls_flags.ts";

interface Common extends TlsFlags {
  server?: string[];
  timeout: number;
  json?: boolean;
}

type ListFlags = Common & { state: string; function?: string; limit: number };

const STATES = ["queued", "scheduled", "running", "failed", "completed", "all"];
const LIST_COLUMNS = ["handle", "function", "state", "priority", "retries", "run_at", "created_at", "unique"] as const;

export function addJobsCommand(program: Command): void {
  const jobs = program
    .command("jobs")
    .description("list, show, retry, cancel and purge jobs on gearbox servers (dead set, failure log, exit status)")
    .addHelpText(
      "after",
      "\nSeveral -s servers (the nodes of a cluster): listings are merged, a handle goes to the server that owns it,\n" +
        "retry --all and purge run on each. A server that does not answer is named and the others are still shown.\n" +
        "Exit status: 0 done, 1 a server refused (unknown job, not failed, ...), 2 a server unreachable, 64 bad usage.",
    );
  const common = serverQueryFlags;

  common(jobs.command("list").description("jobs by state and function"))
    .addOption(new Option("--state <state>", "queued, scheduled, running, failed, completed or all").choices(STATES).default("all"))
    .option("-f, --function <name>", "only this function")
    .option("--limit <n>", "at most this many rows", positiveInteger, 1000)
    .action((o: ListFlags) => listJobs(o));

  common(jobs.command("show").description("one job: state, exit status, failure log").argument("<handle>"))
    .action((handle: string, o: Common) => showJob(handle, o));

  common(jobs.command("retry").description("put failed jobs back in their queue").argument("[handle]"))
    .option("--all", "every failed job (of --function, if given)")
    .option("-f, --function <name>", "with --all: only this function")
    .action((handle: string | undefined, o: Common & { all?: boolean; function?: string }) => {
      if (!handle && !o.all) return usage("give a handle or --all");
      if (handle && (o.all || o.function)) return usage("give a handle, or --all (with --function), not both");
      if (handle) return count(o, "retried", `job retry ${handle}`, true);
      return count(o, "retried", `job retry all${o.function ? ` function=${o.function}` : ""}`, false);
    });

  common(jobs.command("cancel").description("cancel a live job (its clients get WORK_FAIL) or forget an ended one").argument("<handle>"))
    .action((handle: string, o: Common) => count(o, "cancelled", `job cancel ${handle}`, true));

  common(jobs.command("purge").description("drop a function's waiting jobs (or, with --failed, its dead set)").argument("<function>"))
    .option("--failed", "purge the dead set instead of the queue")
    .action((fn: string, o: Common & { failed?: boolean }) =>
      count(o, "purged", `job purge ${fn} state=${o.failed ? "failed" : "queued"}`, false)
    );
}

function serversOf(o: Common): string[] {
  return o.server ?? ["127.0.0.1:4730"];
}

/** Asks every server of `o` (with its TLS flags), or refuses a bad TLS flag as usage (no answers). */
async function ask<T>(o: Common, action: (admin: AdminSession) => Promise<T>): Promise<Answer<T>[] | undefined> {
  let tls;
  try {
    tls = tlsFromFlags(o);
  } catch (e) {
    usage((e as Error).message);
    return undefined;
  }
  return await askEach(serversOf(o), o.timeout, action, tls);
}

/**
 * `jobs list`: the rows of `job list` from every server, as a table or JSON.
 * From several servers the rows are merged oldest first (by created_at, then
 * handle), cut to --limit, each with the server it came from.
 */
async function listJobs(o: ListFlags): Promise<void> {
  const args = [`state=${o.state}`, `limit=${o.limit}`];
  if (o.function) args.push(`function=${o.function}`);
  const servers = serversOf(o);
  const several = servers.length > 1;
  const asked = await ask(o, async (admin) => ({
    rows: (await admin.list(`job list ${args.join(" ")}`)).map(parseListRow),
    dead: await deadNodes(admin),
  }));
  if (!asked) return;
  const answers = settle(asked);
  warnDead(answers.flatMap((a) => a.value.dead));
  let rows: ListRow[] = answers.flatMap((a) => a.value.rows.map((r) => several ? { server: a.server, ...r } : r));
  if (several) rows = rows.sort(byAge).slice(0, o.limit);
  if (o.json) return print(JSON.stringify(rows, null, 2));
  if (answers.length === 0) return;
  if (rows.length === 0) return print(`no ${o.state === "all" ? "" : o.state + " "}jobs`);
  const t = table([...(several ? ["SERVER"] : []), "HANDLE", "FUNCTION", "STATE", "PRIORITY", "RETRIES", "RUN AT", "CREATED", "UNIQUE"]);
  for (const r of rows) {
    t.push([
      ...(several ? [String(r.server)] : []),
      printable(String(r.handle)),
      printable(String(r.function)),
      r.state,
      r.priority,
      r.retries,
      time(r.run_at),
      time(r.created_at),
      printable(String(r.unique)),
    ]);
  }
  print(t.toString());
}

/**
 * The cluster's dead nodes still holding jobs (admin `nodes`,
 * docs/cluster.md §5): no server answers for their jobs until a live node
 * adopts them. Empty where `nodes` is unknown (gearmand), the store cannot say,
 * or no reply comes.
 */
async function deadNodes(admin: AdminSession): Promise<{ node: string; jobs: number }[]> {
  let rows: string[];
  try {
    rows = await admin.list("nodes");
  } catch {
    return []; // advisory: the listing already came, a silent `nodes` must not discard it
  }
  return rows.map(parseNodeRow).filter((n) => n.state === "dead" && n.jobs > 0);
}

/** One line per dead node, however many servers named it; the exit status stays. */
function warnDead(dead: { node: string; jobs: number }[]): void {
  const seen = new Set<string>();
  for (const d of dead) {
    if (seen.has(d.node)) continue;
    seen.add(d.node);
    warn(
      "jobs",
      `node ${d.node} is dead and not yet adopted: its ${d.jobs} job${d.jobs === 1 ? "" : "s"} are listed once a live node adopts them`,
    );
  }
}

function byAge(a: ListRow, b: ListRow): number {
  const d = Number(a.created_at) - Number(b.created_at);
  return d !== 0 ? d : String(a.handle) < String(b.handle) ? -1 : String(a.handle) > String(b.handle) ? 1 : 0;
}

/** `jobs show`: one job's fields, then its failure log, from the server that owns it. */
async function showJob(handle: string, o: Common): Promise<void> {
  const servers = serversOf(o);
  const asked = await ask(o, (admin) => admin.list(`job show ${handle}`));
  if (!asked) return;
  const answers = settle(owners(asked), servers.length > 1);
  for (const { server, value } of answers.slice(0, 1)) printJob(servers.length > 1 ? server : undefined, value, o);
}

function printJob(server: string | undefined, rows: string[], o: Common): void {
  const fields: Record<string, string> = server === undefined ? {} : { server };
  const failures: { at: number; message: string }[] = [];
  for (const row of rows) {
    const [key, ...rest] = row.split("\t");
    if (key === "failure") failures.push({ at: Number(rest[0]), message: rest.slice(1).join("\t") });
    else fields[key!] = rest.join("\t");
  }
  if (o.json) return print(JSON.stringify({ ...fields, failures }, null, 2));
  const t = table(["FIELD", "VALUE"]);
  for (const [k, v] of Object.entries(fields)) t.push([k, /(_at|after|until)$/.test(k) ? time(Number(v)) : printable(v)]);
  print(t.toString());
  if (failures.length === 0) return print("no failures");
  const f = table(["#", "WHEN", "MESSAGE"]);
  failures.forEach((x, i) => f.push([i + 1, time(x.at), printable(x.message)]));
  print(f.toString());
}

/** Refuses a command line before any connection is made. */
function usage(message: string): void {
  process.stderr.write(`gearbox jobs: ${message}\n`);
  process.exitCode = EXIT.usage;
}

/**
 * A command answered `OK n` on every server (or, for one handle, on the
 * server that owns it): the sum, as `verb n jobs` or `{"verb": n}`; with
 * several servers JSON adds each server's count.
 */
async function count(o: Common, verb: string, line: string, oneHandle: boolean): Promise<void> {
  const servers = serversOf(o);
  const asked = await ask(o, async (admin) => Number(/^OK (\d+)/.exec(await admin.line(line))?.[1] ?? 0));
  if (!asked) return;
  const answers = settle(oneHandle ? owners(asked) : asked, servers.length > 1);
  if (answers.length === 0) return;
  const n = answers.reduce((sum, a) => sum + a.value, 0);
  const each = Object.fromEntries(answers.map((a) => [a.server, a.value]));
  print(
    o.json ? JSON.stringify(servers.length > 1 ? { [verb]: n, servers: each } : { [verb]: n }) : `${verb} ${n} job${n === 1 ? "" : "s"}`,
  );
}

type ListRow = Record<(typeof LIST_COLUMNS)[number], string | number> & Record<string, string | number>;

function parseListRow(row: string): ListRow {
  const cells = row.split("\t");
  const out: Record<string, string | number> = {};
  LIST_COLUMNS.forEach((c, i) => {
    const v = cells[i] ?? "";
    out[c] = c === "retries" || c.endsWith("_at") ? Number(v) : v;
  });
  return out as ListRow;
}
