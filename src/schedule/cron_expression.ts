/**
 * Cron expressions (docs/schedules.md §2): five fields `minute hour day-of-month month
 * day-of-week`, or six with `second` first; each field `*`, a value, a range `a-b`, a step
 * (`*\/n`, `a-b/n`, `a/n`) or a comma list of them; month and weekday names (`jan`, `mon`);
 * weekday 0 or 7 is Sunday; the nicknames `@yearly`, `@annually`, `@monthly`, `@weekly`,
 * `@daily`, `@midnight`, `@hourly`. When both day fields are restricted a day matches either
 * (Vixie cron's OR); otherwise it must match both.
 */
import { ScheduleError } from "./schedule_error.ts";

/** A parsed expression: for each field, whether each value matches. */
export interface CronFields {
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  /** Both day fields restricted: a day matches if either matches. */
  readonly dayOr: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const SPECS: readonly FieldSpec[] = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES },
  { name: "day-of-week", min: 0, max: 7, names: DAY_NAMES },
];
const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

function fail(expr: string, why: string): never {
  throw new ScheduleError(`cron ${JSON.stringify(expr)}: ${why}`);
}

function valueOf(expr: string, spec: FieldSpec, text: string): number {
  const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + spec.min : /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(n)) fail(expr, `${spec.name} field has "${text}", which is not a number${spec.names ? " or a name" : ""}`);
  if (n < spec.min || n > spec.max) fail(expr, `${spec.name} field has ${text}, outside ${spec.min}-${spec.max}`);
  return n;
}

/** The values one comma-separated part (`*`, `a`, `a-b`, with an optional `/step`) selects. */
function partValues(expr: string, spec: FieldSpec, part: string): number[] {
  const [range, stepText, extra] = part.split("/");
  if (extra !== undefined || range === "") fail(expr, `${spec.name} field has "${part}", which is not a value, range or step`);
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
      fail(expr, `${spec.name} field has step "${stepText}", which is not a positive number`);
    }
    step = Number(stepText);
  }
  let lo = spec.min;
  let hi = spec.name === "day-of-week" ? 6 : spec.max;
  if (range !== "*") {
    const ends = range!.split("-");
    if (ends.length > 2 || ends.some((e) => e === "")) fail(expr, `${spec.name} field has "${part}", which is not a value, range or step`);
    lo = valueOf(expr, spec, ends[0]!);
    hi = ends.length === 2 ? valueOf(expr, spec, ends[1]!) : stepText !== undefined ? spec.max : lo;
    if (hi < lo) fail(expr, `${spec.name} field has the range "${range}", which runs backwards`);
  }
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

function fieldValues(expr: string, spec: FieldSpec, text: string): number[] {
  const set = new Set<number>();
  for (const part of text.split(",")) {
    if (part === "") fail(expr, `${spec.name} field "${text}" has an empty list item`);
    for (const v of partValues(expr, spec, part)) set.add(spec.name === "day-of-week" && v === 7 ? 0 : v);
  }
  return [...set].sort((a, b) => a - b);
}

/** Parses an expression; throws ScheduleError naming `cron`, the expression and the field at fault. */
export function parseCron(expr: string): CronFields {
  if (typeof expr !== "string") fail(String(expr), "must be a string");
  const trimmed = expr.trim();
  const text = trimmed.startsWith("@") ? NICKNAMES[trimmed.toLowerCase()] : trimmed;
  if (text === undefined) fail(expr, `unknown nickname; use one of ${Object.keys(NICKNAMES).join(", ")}`);
  const fields = text.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5 && fields.length !== 6) {
    fail(expr, `has ${fields.length} fields; give 5 (minute hour day-of-month month day-of-week) or 6 (second first)`);
  }
  if (fields.length === 5) fields.unshift("0");
  const values = fields.map((f, i) => fieldValues(expr, SPECS[i]!, f));
  return {
    seconds: values[0]!,
    minutes: values[1]!,
    hours: values[2]!,
    days: new Set(values[3]),
    months: new Set(values[4]),
    weekdays: new Set(values[5]),
    dayOr: !fields[3]!.startsWith("*") && !fields[5]!.startsWith("*"),
  };
}

/** Whether the calendar day (UTC fields of `dayMs`) matches the day and month fields. */
export function dayMatches(fields: CronFields, dayMs: number): boolean {
  const d = new Date(dayMs);
  if (!fields.months.has(d.getUTCMonth() + 1)) return false;
  const dom = fields.days.has(d.getUTCDate());
  const dow = fields.weekdays.has(d.getUTCDay());
  return fields.dayOr ? dom || dow : dom && dow;
}
