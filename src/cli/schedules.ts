/**
 * `gearbox schedules`: the recurring schedules of gearbox servers, over the
 * `schedule` admin command (docs/schedules.md §7): list (last run, its
 * outcome and handle, next run, counts), show one, pause, resume, trigger,
 * delete. With several `-s` servers (a cluster's nodes) list, pause, resume
 * and delete go to each (a pause is per node); trigger to the first only, so
 * one job is made. Tables on a terminal, `--json` for tools. Exit status: 0
 * done, 1 a server refused (unknown schedule...), 2 a server unreachable, 64
 * bad usage.
 *
 * @module
 */
import type { Command } from "commander";
import type { AdminSession } from "../client/admin_session.ts";
import { SCHEDULE_COLUMNS } from "../server/schedule_admin.ts";
import { positiveInteger } from "./arguments.ts";
import { EXIT } from "./exit_status.ts";
import { type Answer, askEach, serverQueryFlags, settle } from "./jobs_servers.ts";
import { print, printable, table } from "./output.ts";
import { type TlsFlags, tlsFromFlags } from "./tls_flags.ts";

interface Common extends TlsFlags {
  server?: string[];
  timeout: number;
  json?: boolean;
}

type Row = Record<(typeof SCHEDULE_COLUMNS)[number], string | number> & { server?: string };
const NUMBERS = new Set(["fired", "missed", "skipped"]);

export function addSchedulesCommand(program: Command): void {
  const schedules = program
    .command("schedules")
    .description("list, show, pause, resume and trigger the recurring schedules of gearbox servers")
    .addHelpText("after", "\nExit status: 0 done, 1 a server refused (unknown schedule, ...), 2 a server unreachable, 64 bad usage.");
  const common = serverQueryFlags;
  common(schedules.command("list").description("every schedule: status, next and last run, last job, counts"))
    .action((o: Common) => list(o));
  common(schedules.command("show").description("one schedule's fields").argument("<name>"))
    .action((name: string, o: Common) => show(name, o));
  for (
    const [verb, what] of [["pause", "stop firing (kept across restarts)"], ["resume", "fire again (missed slots by its policy)"]] as const
  ) {
    common(schedules.command(verb).description(what).argument("<name>")).action((name: string, o: Common) => change(verb, name, o, false));
  }
  common(schedules.command("trigger").description("run one job now, outside the slots (on the first server)").argument("<name>"))
    .action((name: string, o: Common) => change("trigger", name, o, true));
  common(
    schedules.command("delete").description("delete a schedule added at run time, or a stored one gone from the config").argument("<name>"),
  )
    .action((name: string, o: Common) => change("delete", name, o, false));
  common(schedules.command("add").description("add a schedule at run time (kept in the store; on each server given)").argument("<name>"))
    .requiredOption("-f, --function <name>", "the function its jobs go to")
    .option("--every <duration>", "a fixed interval (30s, 5m, 1h30m)")
    .option("--cron <expr>", "a cron expression (5 fields, or 6 with seconds)")
    .option("--zone <iana>", "time zone (default UTC)")
    .option("--workload <text>", "the jobs' workload (NAME, SLOT_ISO, SLOT_MS replaced)")
    .option("--unique <template>", "the jobs' unique (default NAME:SLOT_ISO)")
    .option("--priority <p>", "high, normal or low")
    .option("--missed <policy>", "skip, once or all")
    .option("--max-catch-up <n>", "with --missed all: most missed slots run", positiveInteger)
    .option("--overlap <policy>", "allow, skip or queue")
    .action((name: string, o: Common & Record<string, string | number | undefined>) => {
      const keys = ["function", "every", "cron", "zone", "workload", "unique", "priority", "missed", "overlap"];
      const item: Record<string, unknown> = { name };
      for (const k of keys) if (o[k] !== undefined) item[k] = o[k];
      if (o.maxCatchUp !== undefined) item.max_catch_up = o.maxCatchUp;
      return change("add", JSON.stringify(item), o, false);
    });
}

async function ask<T>(o: Common, action: (admin: AdminSession) => Promise<T>, first = false): Promise<Answer<T>[] | undefined> {
  let tls;
  try {
    tls = tlsFromFlags(o);
  } catch (e) {
    process.stderr.write(`gearbox schedules: ${(e as Error).message}\n`);
    process.exitCode = EXIT.usage;
    return undefined;
  }
  const servers = o.server ?? ["127.0.0.1:4730"];
  return await askEach(first ? servers.slice(0, 1) : servers, o.timeout, action, tls);
}

function parseRow(line: string): Row {
  const cells = line.split("\t");
  const out: Record<string, string | number> = {};
  SCHEDULE_COLUMNS.forEach((c, i) => (out[c] = NUMBERS.has(c) ? Number(cells[i] ?? 0) : cells[i] ?? "-"));
  return out as Row;
}

async function list(o: Common): Promise<void> {
  const asked = await ask(o, async (admin) => (await admin.list("schedule list")).map(parseRow));
  if (!asked) return;
  const several = asked.length > 1;
  const rows = settle(asked).flatMap((a) => a.value.map((r) => (several ? { server: a.server, ...r } : r)));
  if (o.json) return print(JSON.stringify(rows, null, 2));
  if (rows.length === 0) return print("no schedules");
  const heads = ["NAME", "FUNCTION", "TIMING", "STATUS", "NEXT RUN", "LAST RUN", "LAST HANDLE", "OUTCOME", "FIRED", "MISSED", "SKIPPED"];
  const t = table([...(several ? ["SERVER"] : []), ...heads]);
  for (const r of rows) {
    const cells = SCHEDULE_COLUMNS.slice(0, heads.length).map((c) => printable(String(r[c])));
    t.push([...(several ? [String(r.server)] : []), ...cells]);
  }
  print(t.toString());
}

async function show(name: string, o: Common): Promise<void> {
  const asked = await ask(o, (admin) => admin.list(`schedule show ${name}`), true);
  if (!asked) return;
  for (const { value } of settle(asked)) {
    const fields = Object.fromEntries(value.map((l) => l.split("\t") as [string, string]));
    if (o.json) return print(JSON.stringify(parseRow(SCHEDULE_COLUMNS.map((c) => fields[c] ?? "-").join("\t")), null, 2));
    const t = table(["FIELD", "VALUE"]);
    for (const [k, v] of Object.entries(fields)) t.push([k, printable(v)]);
    print(t.toString());
  }
}

async function change(verb: string, name: string, o: Common, first: boolean): Promise<void> {
  const asked = await ask(o, (admin) => admin.line(`schedule ${verb} ${name}`), first);
  if (!asked) return;
  const answers = settle(asked);
  if (answers.length === 0) return;
  const handle = verb === "trigger" ? /^OK (\S+)/.exec(answers[0]!.value)?.[1] : undefined;
  if (o.json && verb === "add") return print(JSON.stringify({ add: JSON.parse(name), servers: answers.map((a) => a.server) }));
  if (o.json) return print(JSON.stringify({ [verb]: name, ...(handle ? { handle } : {}), servers: answers.map((a) => a.server) }));
  const label = verb === "add" ? String((JSON.parse(name) as { name: string }).name) : name;
  const done: Record<string, string> = { add: "added", pause: "paused", resume: "resumed", delete: "deleted" };
  print(handle ? `triggered ${name}: ${handle}` : `${done[verb] ?? verb} ${label}`);
}
