/**
 * `gearbox jobs`: the operator's view of a gearbox server's reliable queue,
 * over the `job` admin command: list jobs by function and state, show one
 * with its failure log and exit status, retry failed ones, cancel, purge.
 * Tables on a terminal, `--json` for tools. Exit status: 0 done, 1 the
 * server refused (unknown job, not failed...), 2 unreachable, 64 bad usage.
 *
 * @module
 */
import { EXIT } from "./exit_status.ts";
import { type Command, Option } from "commander";
import { AdminError, AdminSession } from "../client/admin_session.ts";
import { positiveInteger } from "./arguments.ts";
import { print, printable, table, time } from "./output.ts";

interface Common {
  server: string;
  timeout: number;
  json?: boolean;
}

const STATES = ["queued", "scheduled", "running", "failed", "completed", "all"];
const LIST_COLUMNS = ["handle", "function", "state", "priority", "retries", "run_at", "created_at", "unique"] as const;

export function addJobsCommand(program: Command): void {
  const jobs = program
    .command("jobs")
    .description("list, show, retry, cancel and purge jobs on a gearbox server (dead set, failure log, exit status)")
    .addHelpText(
      "after",
      "\nExit status: 0 done, 1 the server refused (unknown job, not failed, ...), 2 server unreachable, 64 bad usage.",
    );
  const common = (c: Command) =>
    c.option("-s, --server <host:port>", "the gearbox server", "127.0.0.1:4730")
      .option("--timeout <ms>", "connect and reply deadline", positiveInteger, 5000)
      .option("--json", "JSON instead of a table");

  common(jobs.command("list").description("jobs by state and function"))
    .addOption(new Option("--state <state>", "queued, scheduled, running, failed, completed or all").choices(STATES).default("all"))
    .option("-f, --function <name>", "only this function")
    .option("--limit <n>", "at most this many rows", positiveInteger, 1000)
    .action((o: Common & { state: string; function?: string; limit: number }) => run(o, (admin) => listJobs(admin, o)));

  common(jobs.command("show").description("one job: state, exit status, failure log").argument("<handle>"))
    .action((handle: string, o: Common) => run(o, (admin) => showJob(admin, handle, o)));

  common(jobs.command("retry").description("put failed jobs back in their queue").argument("[handle]"))
    .option("--all", "every failed job (of --function, if given)")
    .option("-f, --function <name>", "with --all: only this function")
    .action((handle: string | undefined, o: Common & { all?: boolean; function?: string }) => {
      if (!handle && !o.all) return usage("give a handle or --all");
      if (handle && (o.all || o.function)) return usage("give a handle, or --all (with --function), not both");
      const line = handle ? `job retry ${handle}` : `job retry all${o.function ? ` function=${o.function}` : ""}`;
      return run(o, async (admin) => report(o, "retried", await admin.line(line)));
    });

  common(jobs.command("cancel").description("cancel a live job (its clients get WORK_FAIL) or forget an ended one").argument("<handle>"))
    .action((handle: string, o: Common) => run(o, async (admin) => report(o, "cancelled", await admin.line(`job cancel ${handle}`))));

  common(jobs.command("purge").description("drop a function's waiting jobs (or, with --failed, its dead set)").argument("<function>"))
    .option("--failed", "purge the dead set instead of the queue")
    .action((fn: string, o: Common & { failed?: boolean }) =>
      run(o, async (admin) => report(o, "purged", await admin.line(`job purge ${fn} state=${o.failed ? "failed" : "queued"}`)))
    );
}

/** `jobs list`: the rows of `job list`, as a table or JSON. */
async function listJobs(admin: AdminSession, o: Common & { state: string; function?: string; limit: number }): Promise<void> {
  const args = [`state=${o.state}`, `limit=${o.limit}`];
  if (o.function) args.push(`function=${o.function}`);
  const rows = (await admin.list(`job list ${args.join(" ")}`)).map(parseListRow);
  if (o.json) return print(JSON.stringify(rows, null, 2));
  if (rows.length === 0) return print(`no ${o.state === "all" ? "" : o.state + " "}jobs`);
  const t = table(["HANDLE", "FUNCTION", "STATE", "PRIORITY", "RETRIES", "RUN AT", "CREATED", "UNIQUE"]);
  for (const r of rows) {
    t.push([
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

/** `jobs show`: one job's fields, then its failure log. */
async function showJob(admin: AdminSession, handle: string, o: Common): Promise<void> {
  const rows = await admin.list(`job show ${handle}`);
  const fields: Record<string, string> = {};
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

/** Opens a session, runs the action, maps failures to an exit status and one clear line. */
async function run(o: Common, action: (admin: AdminSession) => Promise<void>): Promise<void> {
  let admin: AdminSession | undefined;
  try {
    admin = await AdminSession.open(o.server, o.timeout);
    await action(admin);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`gearbox jobs: ${message}\n`);
    process.exitCode = e instanceof AdminError ? EXIT.failed : EXIT.unreachable;
  } finally {
    admin?.close();
  }
}

function report(o: Common, verb: string, reply: string): void {
  const n = Number(/^OK (\d+)/.exec(reply)?.[1] ?? 0);
  print(o.json ? JSON.stringify({ [verb]: n }) : `${verb} ${n} job${n === 1 ? "" : "s"}`);
}

function parseListRow(row: string): Record<(typeof LIST_COLUMNS)[number], string | number> & Record<string, string | number> {
  const cells = row.split("\t");
  const out: Record<string, string | number> = {};
  LIST_COLUMNS.forEach((c, i) => {
    const v = cells[i] ?? "";
    out[c] = c === "retries" || c.endsWith("_at") ? Number(v) : v;
  });
  return out as ReturnType<typeof parseListRow>;
}
