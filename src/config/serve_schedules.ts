/**
 * The config file's `schedules:` list (docs/schedules.md): recurring
 * background jobs the server submits itself. Checked here field by field,
 * each error naming `schedules[i].KEY`; the timing (`cron`/`every`/`zone`)
 * is read by src/schedule/timing.ts when the server is made.
 *
 * @module
 */
import { ConfigError } from "./setting.ts";

export const MISSED_POLICIES = ["skip", "once", "all"] as const;
export const OVERLAP_POLICIES = ["allow", "skip", "queue"] as const;
export const SCHEDULE_PRIORITIES = ["high", "normal", "low"] as const;
/** The unique a slot's job gets unless the schedule says otherwise. */
export const DEFAULT_UNIQUE = "NAME:SLOT_ISO";

export interface ScheduleConfig {
  name: string;
  function: string;
  workload: string;
  /** NAME, SLOT_ISO and SLOT_MS are replaced; it must hold SLOT_ISO or SLOT_MS (one job per slot). */
  unique: string;
  priority: (typeof SCHEDULE_PRIORITIES)[number];
  cron?: string;
  every?: string | number;
  zone?: string;
  missed: (typeof MISSED_POLICIES)[number];
  /** With `missed: all`, the most missed slots run at once after a restart (the oldest first). */
  max_catch_up: number;
  overlap: (typeof OVERLAP_POLICIES)[number];
}

const KEYS = ["name", "function", "workload", "unique", "priority", "cron", "every", "zone", "missed", "max_catch_up", "overlap"];

/** Checks a `schedules:` list (`origin`: the file or `createServer`). */
export function parseSchedules(doc: unknown, origin: string): ScheduleConfig[] {
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new ConfigError(`${origin}: schedules must be a list of mappings`);
  const seen = new Set<string>();
  return doc.map((item, i) => {
    const s = parseSchedule(item, `${origin}: schedules[${i}]`);
    if (seen.has(s.name)) throw new ConfigError(`${origin}: schedules[${i}].name: ${JSON.stringify(s.name)} is used twice`);
    seen.add(s.name);
    return s;
  });
}

/** One schedule (from the config, or the admin `schedule add`); `where` prefixes every error. */
export function parseSchedule(item: unknown, where: string): ScheduleConfig {
  if (typeof item !== "object" || item === null || Array.isArray(item)) throw new ConfigError(`${where} must be a mapping`);
  const o = item as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) throw new ConfigError(`${where}: unknown key ${JSON.stringify(key)} (known: ${KEYS.join(", ")})`);
  }
  const text = (key: string, required: boolean): string | undefined => {
    const v = o[key];
    if (v === undefined) {
      if (required) throw new ConfigError(`${where}.${key} is required`);
      return undefined;
    }
    if (typeof v !== "string" || v === "") throw new ConfigError(`${where}.${key} must be a non-empty string`);
    return v;
  };
  const name = text("name", true)!;
  // deno-lint-ignore no-control-regex
  if (!/^[^\s\x00-\x1f\x7f]{1,128}$/.test(name)) {
    throw new ConfigError(`${where}.name: ${JSON.stringify(name)} is not a valid name (1-128 characters, no spaces)`);
  }
  const unique = text("unique", false) ?? DEFAULT_UNIQUE;
  if (!unique.includes("SLOT_ISO") && !unique.includes("SLOT_MS")) {
    throw new ConfigError(`${where}.unique: ${JSON.stringify(unique)} must contain SLOT_ISO or SLOT_MS, so each slot has its own job`);
  }
  const every = o.every;
  if (every !== undefined && typeof every !== "string" && typeof every !== "number") {
    throw new ConfigError(`${where}.every must be a duration (30s, 5m) or a number of seconds`);
  }
  if ((o.cron === undefined) === (every === undefined)) throw new ConfigError(`${where}: give exactly one of cron and every`);
  const maxCatchUp = o.max_catch_up ?? 100;
  if (typeof maxCatchUp !== "number" || !Number.isInteger(maxCatchUp) || maxCatchUp < 1 || maxCatchUp > 100_000) {
    throw new ConfigError(`${where}.max_catch_up must be a whole number from 1 to 100000`);
  }
  const workload = o.workload ?? "";
  if (typeof workload !== "string") throw new ConfigError(`${where}.workload must be a string`);
  return {
    name,
    function: text("function", true)!,
    workload,
    unique,
    priority: choice(o.priority, SCHEDULE_PRIORITIES, "normal", `${where}.priority`),
    cron: text("cron", false),
    every,
    zone: text("zone", false),
    missed: choice(o.missed, MISSED_POLICIES, "skip", `${where}.missed`),
    max_catch_up: maxCatchUp,
    overlap: choice(o.overlap, OVERLAP_POLICIES, "allow", `${where}.overlap`),
  };
}

function choice<T extends string>(v: unknown, choices: readonly T[], fallback: T, where: string): T {
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) {
    throw new ConfigError(`${where}: ${JSON.stringify(v)} is not one of ${choices.join(", ")}`);
  }
  return v as T;
}
