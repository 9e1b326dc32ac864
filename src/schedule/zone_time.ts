/**
 * Wall-clock time in an IANA time zone, with Intl and no clock reads: the zone's offset at an
 * instant, and the instant a wall-clock time names, with the DST rules of docs/schedules.md §3:
 * a wall time that occurs twice names its first occurrence; one that does not occur (it falls
 * in a gap) names the first instant after the gap.
 */
import { ScheduleError } from "./schedule_error.ts";

const formatters = new Map<string, Intl.DateTimeFormat>();
const DAY_MS = 86_400_000;

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's canonical spelling; throws ScheduleError naming `zone` if Intl does not know it. */
export function checkZone(zone: unknown): string {
  if (typeof zone !== "string" || zone.trim() === "") {
    throw new ScheduleError(`zone ${JSON.stringify(zone)}: must be an IANA time zone name such as "Europe/Berlin"`);
  }
  try {
    formatter(zone);
  } catch {
    throw new ScheduleError(`zone ${JSON.stringify(zone)}: not a time zone this runtime knows (IANA names such as "Europe/Berlin")`);
  }
  return zone;
}

/** The zone's offset from UTC at instant `ms` (local = instant + offset), in ms. */
export function offsetAt(zone: string, ms: number): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(whole)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return local - whole;
}

/** The wall-clock time of instant `ms` in the zone, as the ms of the same fields read as UTC. */
export function wallOf(zone: string, ms: number): number {
  return ms + offsetAt(zone, ms);
}

/** The instant a wall-clock time (fields read as UTC, `wall`) names in the zone, by the rules above. */
export function instantOf(zone: string, wall: number): number {
  const before = offsetAt(zone, wall - DAY_MS);
  const after = offsetAt(zone, wall + DAY_MS);
  const hits = [wall - before, wall - after].filter((t) => offsetAt(zone, t) === wall - t);
  if (hits.length > 0) return Math.min(...hits);
  // A gap: the offset grows from `before` to `after` somewhere in (wall - after, wall - before].
  let lo = wall - after;
  let hi = wall - before;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}
