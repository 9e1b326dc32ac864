/**
 * When a schedule's slots are (docs/schedules.md): its timing parsed from the config or an admin
 * command, the next slot after an instant, and the slots between two instants. Pure: every
 * instant is an argument (epoch ms), nothing reads the clock.
 */
import { type CronFields, dayMatches, parseCron } from "./cron_expression.ts";
import { parseEvery } from "./every_interval.ts";
import { ScheduleError } from "./schedule_error.ts";
import { checkZone, instantOf, wallOf } from "./zone_time.ts";

export { ScheduleError } from "./schedule_error.ts";

export type Timing =
  | { readonly kind: "cron"; readonly expr: string; readonly zone: string }
  | { readonly kind: "every"; readonly everyMs: number; readonly zone: string };

const DAY_MS = 86_400_000;
/** How far ahead a cron is searched before it is declared never to match again: past any leap-day gap (8 years). */
const SEARCH_DAYS = 366 * 9;
const parsed = new Map<string, CronFields>();

function fieldsOf(expr: string): CronFields {
  let fields = parsed.get(expr);
  if (!fields) {
    fields = parseCron(expr);
    parsed.set(expr, fields);
  }
  return fields;
}

/**
 * Parses `cron: "*\/5 * * * *"` (5 fields, or 6 with seconds first) or `every: "90s" | "5m" |
 * "1h30m" | 2.5 (seconds)`, and `zone` (IANA, default "UTC"). Throws ScheduleError (code
 * "INVALID_SCHEDULE") naming the field and value.
 */
export function parseTiming(spec: { cron?: string; every?: string | number; zone?: string }): Timing {
  if (spec === null || typeof spec !== "object") throw new ScheduleError("timing: give cron or every");
  const zone = checkZone(spec.zone ?? "UTC");
  if (spec.cron !== undefined && spec.every !== undefined) {
    throw new ScheduleError(
      `timing: give cron or every, not both (cron ${JSON.stringify(spec.cron)}, every ${JSON.stringify(spec.every)})`,
    );
  }
  if (spec.cron !== undefined) {
    if (typeof spec.cron !== "string") throw new ScheduleError(`cron ${JSON.stringify(spec.cron)}: must be a string such as "*/5 * * * *"`);
    const expr = spec.cron.trim();
    fieldsOf(expr);
    return { kind: "cron", expr, zone };
  }
  if (spec.every !== undefined) return { kind: "every", everyMs: parseEvery(spec.every), zone };
  throw new ScheduleError("timing: give cron (an expression) or every (a duration)");
}

/**
 * The first slot strictly after `afterMs` (epoch ms), or undefined if there is none (a cron that
 * never matches again). `every` slots are anchor + k·everyMs for k ≥ 1, anchored at `anchorMs`
 * (the schedule's creation).
 */
export function nextSlot(timing: Timing, afterMs: number, anchorMs: number): number | undefined {
  if (timing.kind === "every") {
    const k = Math.max(1, Math.floor((afterMs - anchorMs) / timing.everyMs) + 1);
    return anchorMs + k * timing.everyMs;
  }
  return nextCronSlot(fieldsOf(timing.expr), timing.zone, afterMs);
}

/** Walks the zone's calendar from the wall-clock day of `afterMs`: each matching wall time's instant, until one is later. */
function nextCronSlot(fields: CronFields, zone: string, afterMs: number): number | undefined {
  const startWall = Math.floor(wallOf(zone, afterMs) / 1000) * 1000;
  const firstDay = Math.floor(startWall / DAY_MS) * DAY_MS;
  for (let i = 0; i <= SEARCH_DAYS; i++) {
    const day = firstDay + i * DAY_MS;
    if (!dayMatches(fields, day)) continue;
    for (const h of fields.hours) {
      const hour = day + h * 3_600_000;
      if (hour + 3_600_000 <= startWall) continue;
      for (const m of fields.minutes) {
        const minute = hour + m * 60_000;
        if (minute + 60_000 <= startWall) continue;
        for (const s of fields.seconds) {
          const wall = minute + s * 1000;
          if (wall < startWall) continue;
          const at = instantOf(zone, wall);
          if (at > afterMs) return at;
        }
      }
    }
  }
  return undefined;
}

/**
 * The slots in (fromMs, toMs], at most `limit` of them, oldest first (for the `all` missed-run
 * policy); `truncated` says whether more were left out.
 */
export function slotsBetween(
  timing: Timing,
  fromMs: number,
  toMs: number,
  anchorMs: number,
  limit: number,
): { slots: number[]; truncated: boolean } {
  const slots: number[] = [];
  let at = fromMs;
  for (;;) {
    const next = nextSlot(timing, at, anchorMs);
    if (next === undefined || next > toMs) return { slots, truncated: false };
    if (slots.length >= limit) return { slots, truncated: true };
    slots.push(next);
    at = next;
  }
}
