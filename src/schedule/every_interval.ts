/**
 * `every:` as milliseconds: a number of seconds (`2.5`) or a duration string of one or more
 * `<number><unit>` parts, largest unit first (`90s`, `5m`, `1h30m`, `250ms`, `1d`).
 */
import { ScheduleError } from "./schedule_error.ts";

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const ORDER = ["d", "h", "m", "s", "ms"];

function fail(value: unknown, why: string): never {
  const shown = typeof value === "number" ? String(value) : JSON.stringify(value);
  throw new ScheduleError(`every ${shown}: ${why}`);
}

/** The interval in whole milliseconds; throws ScheduleError naming `every` and the value. */
export function parseEvery(value: string | number): number {
  let ms: number;
  if (typeof value === "number") ms = Math.round(value * 1_000_000) / 1000;
  else if (typeof value === "string") ms = parseDurationString(value);
  else fail(value, 'must be a duration string such as "90s" or a number of seconds');
  if (!Number.isFinite(ms) || ms <= 0) fail(value, "must be a positive duration");
  if (!Number.isInteger(ms)) fail(value, "must be a whole number of milliseconds");
  if (ms > Number.MAX_SAFE_INTEGER / 4) fail(value, "is too long");
  return ms;
}

function parseDurationString(text: string): number {
  const trimmed = text.trim();
  if (trimmed === "") fail(text, "is empty");
  if (/^\d+(\.\d+)?$/.test(trimmed)) fail(text, "needs a unit (ms, s, m, h or d), or give a number of seconds");
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|d|h|m|s)/g)];
  if (parts.map((p) => p[0]).join("") !== trimmed) fail(text, 'is not a duration such as "90s", "5m" or "1h30m"');
  let last = -1;
  let total = 0;
  for (const p of parts) {
    const rank = ORDER.indexOf(p[2]!);
    if (rank <= last) fail(text, "repeats a unit or lists a smaller unit before a larger one");
    last = rank;
    total += Number(p[1]) * UNIT_MS[p[2]!]!;
  }
  return Math.round(total * 1000) / 1000;
}
