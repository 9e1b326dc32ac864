/**
 * STAND-IN (branch i17-schedules only): the `every` half of the timing
 * module with the interface helper S2 writes; S2's file replaces this one
 * on merge. Pure: slots are whole multiples of `everyMs` after the anchor.
 *
 * @module
 */

/** A schedule's timing: a cron expression or a fixed period, in a time zone. */
export type Timing = { kind: "cron"; expr: string; zone: string } | { kind: "every"; everyMs: number; zone: string };

/** A schedule that cannot be understood (code INVALID_SCHEDULE). */
export class ScheduleError extends Error {
  readonly code = "INVALID_SCHEDULE";
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Reads a schedule's `cron`/`every` and `zone` (this stand-in knows only `every`). */
export function parseTiming(spec: { cron?: string; every?: string | number; zone?: string }): Timing {
  const zone = spec.zone ?? "UTC";
  if (spec.cron !== undefined) throw new ScheduleError("cron schedules need the timing module (not merged yet)");
  if (spec.every === undefined) throw new ScheduleError("a schedule needs cron or every");
  let everyMs: number;
  if (typeof spec.every === "number") everyMs = spec.every * 1000;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(spec.every);
    if (!m) throw new ScheduleError(`every: ${JSON.stringify(spec.every)} is not a duration (e.g. 30s, 5m, 1h)`);
    everyMs = Number(m[1]) * UNITS[m[2]!]!;
  }
  if (!Number.isFinite(everyMs) || everyMs < 1000) throw new ScheduleError(`every: ${JSON.stringify(spec.every)} is under one second`);
  return { kind: "every", everyMs: Math.round(everyMs), zone };
}

/** The first slot strictly after `afterMs`. */
export function nextSlot(timing: Timing, afterMs: number, anchorMs: number): number | undefined {
  if (timing.kind !== "every") return undefined;
  const n = Math.floor((afterMs - anchorMs) / timing.everyMs) + 1;
  return anchorMs + Math.max(n, 0) * timing.everyMs;
}

/** Slots in `(fromMs, toMs]`, at most `limit`, oldest first. */
export function slotsBetween(
  timing: Timing,
  fromMs: number,
  toMs: number,
  anchorMs: number,
  limit: number,
): { slots: number[]; truncated: boolean } {
  const slots: number[] = [];
  for (let s = nextSlot(timing, fromMs, anchorMs); s !== undefined && s <= toMs; s = nextSlot(timing, s, anchorMs)) {
    if (slots.length === limit) return { slots, truncated: true };
    slots.push(s);
  }
  return { slots, truncated: false };
}
