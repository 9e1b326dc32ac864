/**
 * The `schedule` admin command (docs/schedules.md §7): `list` and `show NAME`
 * need admin-read, `pause|resume|trigger|delete NAME` need admin (roles.ts).
 * The core holds the reply; this builds it from the schedule runner. Also
 * the schedules' gauges for `/metrics`.
 *
 * @module
 */
import { errLine, listReply, OK_CRLF, okValue } from "../protocol/admin_text.ts";
import type { ScheduleGauges } from "./metrics_page.ts";
import type { ScheduleEntry, ScheduleRunner, ScheduleState } from "./schedule_runner.ts";

const USAGE = "usage: schedule list | show NAME | pause NAME | resume NAME | trigger NAME | delete NAME | add JSON";
const iso = (ms: number | undefined) => (ms === undefined ? "-" : new Date(ms).toISOString());

/** The columns of `schedule list`, in order (the CLI and tests name them). */
export const SCHEDULE_COLUMNS = [
  "name",
  "function",
  "timing",
  "status",
  "next_run",
  "last_run",
  "last_handle",
  "last_outcome",
  "fired",
  "missed",
  "skipped",
  "queued",
] as const;

function timingOf(e: ScheduleEntry): string {
  const t = e.timing;
  return (t.kind === "cron" ? `cron ${t.expr}` : `every ${t.everyMs}ms`) + ` ${t.zone}`;
}

function statusOf(s: ScheduleState): string {
  return s.orphan ? "orphan" : s.paused ? "paused" : "active";
}

function row(runner: ScheduleRunner, e: ScheduleEntry): string[] {
  const s = e.state;
  return [
    e.def.name,
    e.def.function,
    timingOf(e),
    statusOf(s),
    s.paused ? "-" : iso(e.nextSlot),
    iso(s.lastSlot),
    s.lastHandle ?? "-",
    runner.lastOutcome(e) || "-",
    String(s.fired),
    String(s.missed),
    String(s.skipped),
    iso(s.queued),
  ];
}

function orphanRows(runner: ScheduleRunner): string[][] {
  return [...runner.orphans.values()].map((r) => {
    const s = JSON.parse(r.state) as ScheduleState;
    return [
      r.name,
      "-",
      "-",
      "orphan",
      "-",
      iso(s.lastSlot),
      s.lastHandle ?? "-",
      "-",
      String(s.fired),
      String(s.missed),
      String(s.skipped),
      "-",
    ];
  });
}

/** Answers one `schedule ...` line. */
export async function scheduleAdmin(runner: ScheduleRunner, args: readonly string[]): Promise<string> {
  const verb = args[0]?.toLowerCase();
  const name = args[1];
  if (verb === "list" && args.length === 1) {
    const rows = [...runner.entries.values()].map((e) => row(runner, e)).concat(orphanRows(runner));
    return listReply(rows.sort((a, b) => (a[0]! < b[0]! ? -1 : 1)).map((r) => r.join("\t")));
  }
  if (verb === "add" && args.length > 1) return await add(runner, args.slice(1).join(" "));
  if (name === undefined || args.length !== 2) return errLine("INVALID_ARGUMENTS", USAGE);
  const e = runner.entries.get(name);
  if (verb === "show") {
    const values = e ? row(runner, e) : orphanRows(runner).find((r) => r[0] === name);
    if (!values) return errLine("UNKNOWN_SCHEDULE", `no schedule ${name}`);
    return listReply(SCHEDULE_COLUMNS.map((c, i) => `${c}\t${values[i]}`));
  }
  try {
    if (verb === "pause" || verb === "resume") {
      if (!(verb === "pause" ? runner.pause(name) : runner.resume(name))) return errLine("UNKNOWN_SCHEDULE", `no schedule ${name}`);
      return OK_CRLF;
    }
    if (verb === "trigger") return okValue(await runner.trigger(name));
    if (verb === "delete") {
      await runner.remove(name);
      return OK_CRLF;
    }
  } catch (err) {
    return errLine("SCHEDULE_ERROR", (err as Error).message);
  }
  return errLine("INVALID_ARGUMENTS", USAGE);
}

/** `schedule add {"name": ..., "function": ..., "every": ...}`: the keys of a `schedules:` item, as compact JSON. */
async function add(runner: ScheduleRunner, json: string): Promise<string> {
  let item: unknown;
  try {
    item = JSON.parse(json);
  } catch {
    return errLine("INVALID_ARGUMENTS", "schedule add takes one JSON object with the keys of a schedules: item");
  }
  try {
    await runner.add(item);
    return OK_CRLF;
  } catch (err) {
    return errLine("SCHEDULE_ERROR", (err as Error).message);
  }
}

/** Each schedule's counts and times for `/metrics` (metrics_page.ts). */
export function scheduleGauges(runner: ScheduleRunner): ScheduleGauges[] {
  return [...runner.entries.values()].map((e) => ({
    name: e.def.name,
    fired: e.state.fired,
    missed: e.state.missed,
    skipped: e.state.skipped,
    next: e.state.paused ? 0 : e.nextSlot,
    last: e.state.lastSlot ?? 0,
  }));
}
