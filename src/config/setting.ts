/**
 * One setting, defined once: a row of a command's table (serve_options.ts,
 * drive_options.ts, top_options.ts). Its config-file key, flag, environment
 * variable, settings property and TypeScript type are all derived from the
 * row, and `coerce` is the one validation every source goes through.
 *
 * @module
 */

/** The largest count a setting may take: a signed 32-bit int. */
export const MAX_INT = 2 ** 31 - 1;

export type SettingType = "int" | "number" | "string" | "boolean" | "level";

/** A setting that failed validation; names the key and where it came from. */
export class ConfigError extends Error {
  readonly code = "INVALID_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface Setting {
  /** snake_case: the config-file key; the flag, variable and property derive from it. */
  readonly key: string;
  readonly type: SettingType;
  readonly default: number | string | boolean;
  readonly help: string;
  /** A one-letter alias (`-p`). */
  readonly short?: string;
  /** The flag's value placeholder (`<seconds>`); booleans take none. */
  readonly arg?: string;
  /** The flag turns a default-true boolean off (`--no-admin-shutdown`). */
  readonly negated?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of a string setting. */
  readonly choices?: readonly string[];
  /** A word accepted besides a number, and what it means (`auto`: a free port). */
  readonly word?: { readonly word: string; readonly means: string };
  /** Durations: `s` values are converted to ms once, by `project`; the layers behind speak ms. */
  readonly unit?: "s" | "ms";
  /**
   * Where the value goes behind the edge, as `group.path` (`core.retry.delayMs`,
   * `edge.handshakeTimeoutMs`, `decoder.maxPacketBody`): see settings_table.ts `project`.
   */
  readonly to?: string;
  /** Also a key of `functions.NAME` in serve's config file (a per-function override). */
  readonly perFunction?: boolean;
}

/** `max_packet_size` -> `maxPacketSize` (commander names a flag's value the same way). */
export type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

type ValueOf<R> = R extends { word: { word: infer W } } ? number | W
  : R extends { type: "int" | "number" } ? number
  : R extends { type: "boolean" } ? boolean
  : R extends { type: "level" } ? Level
  : R extends { choices: readonly (infer C)[] } ? C
  : string;

/** The settings object a table describes, typed from its rows (declare tables `as const`). */
export type SettingsOf<T extends readonly Setting[]> = { -readonly [R in T[number] as Camel<R["key"]>]: ValueOf<R> };

/**
 * What a table sends to one group of `to` targets (`edge`): `{ handshakeTimeoutMs: number, ... }`,
 * typed from its rows, so a layer's settings type is never written by hand.
 */
export type TargetsOf<T extends readonly Setting[], G extends string> = {
  -readonly [R in T[number] as R extends { to: `${G}.${infer K}` } ? K : never]: ValueOf<R>;
};

export function camel(key: string): string {
  return key.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
}

/** The long flag alone, as errors name it: `--max-packet-size`, `--no-admin-shutdown`. */
export function longFlag(s: Setting): string {
  return `--${s.negated ? "no-" : ""}${s.key.replaceAll("_", "-")}`;
}

/** The commander flag spec: `-p, --port <port>`. */
export function flagSpec(s: Setting): string {
  return `${s.short ? `${s.short}, ` : ""}${longFlag(s)}${s.type === "boolean" || !s.arg ? "" : ` ${s.arg}`}`;
}

/** The environment variable: `GEARBOX_` + `MAX_PACKET_SIZE`. */
export function envName(prefix: string, s: Setting): string {
  return `${prefix}${s.key.toUpperCase()}`;
}

const LEVEL_NAMES = ["debug", "info", "warn", "error", "silent"] as const;
export type Level = (typeof LEVEL_NAMES)[number];

/** Checks and converts one value; `origin` names the file, variable or flag for the error. */
export function coerce(s: Setting, raw: unknown, origin: string): number | string | boolean {
  const where = `${origin}: ${s.key}`;
  if (s.word && typeof raw === "string" && raw.trim().toLowerCase() === s.word.word) return s.word.word;
  try {
    return coerceValue(s, raw, where);
  } catch (e) {
    if (s.word && e instanceof ConfigError) throw new ConfigError(`${e.message} (or ${s.word.word}: ${s.word.means})`);
    throw e;
  }
}

function coerceValue(s: Setting, raw: unknown, where: string): number | string | boolean {
  switch (s.type) {
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "false") return raw === "true";
      throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(raw)}`);
    case "level":
      if (typeof raw === "string" && (LEVEL_NAMES as readonly string[]).includes(raw.toLowerCase())) return raw.toLowerCase();
      throw new ConfigError(`${where} must be one of ${LEVEL_NAMES.join(", ")}, got ${JSON.stringify(raw)}`);
    case "string":
      if (s.choices && !s.choices.includes(String(raw))) {
        throw new ConfigError(`${where} must be one of ${s.choices.join(", ")}, got ${JSON.stringify(raw)}`);
      }
      if (typeof raw === "string" || typeof raw === "number") return String(raw);
      throw new ConfigError(`${where} must be a string, got ${JSON.stringify(raw)}`);
    case "int":
    case "number": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
      if (!Number.isFinite(n) || (s.type === "int" && !Number.isInteger(n))) {
        throw new ConfigError(`${where} must be ${s.type === "int" ? "an integer" : "a number"}, got ${JSON.stringify(raw)}`);
      }
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
        throw new ConfigError(`${where} must be between ${s.min} and ${s.max}, got ${n}`);
      }
      return n;
    }
  }
}
