/**
 * What a command does with its table of settings: the defaults, the flags
 * (commander), the environment variables, the config-file keys, the check
 * of an embedding application's object, and the projection of the resolved
 * settings onto the layers behind the edge (durations in ms). Every source
 * goes through `coerce`, so a value is judged the same wherever it comes from.
 *
 * @module
 */
import type { Command } from "commander";
import { camel, coerce, ConfigError, envName, flagSpec, longFlag, type Setting, type SettingsOf } from "./setting.ts";

export type Table = readonly Setting[];

export function defaultsOf<T extends Table>(table: T): SettingsOf<T> {
  return Object.fromEntries(table.map((s) => [camel(s.key), s.default])) as SettingsOf<T>;
}

export function rowOf(table: Table, key: string): Setting | undefined {
  return table.find((s) => s.key === key);
}

/** One config-file key, validated: `[property, value]`, or undefined for a key the table does not have. */
export function fromKey(table: Table, key: string, raw: unknown, origin: string): [string, unknown] | undefined {
  const s = rowOf(table, key);
  return s && [camel(s.key), coerce(s, raw, origin)];
}

/** Settings from `PREFIX<KEY>` variables; an empty variable counts as unset. */
export function fromEnv(table: Table, prefix: string, env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of table) {
    const name = envName(prefix, s);
    const v = env[name];
    if (v !== undefined && v !== "") out[camel(s.key)] = coerce(s, v, `environment ${name}`);
  }
  return out;
}

/** Adds one option per row, its default in the help (booleans say theirs in words). */
export function addFlags(cmd: Command, table: Table): void {
  for (const s of table) cmd.option(flagSpec(s), s.type === "boolean" ? s.help : `${s.help} (default: ${JSON.stringify(s.default)})`);
}

/** The flags given on the command line (not commander's defaults), validated. */
export function fromFlags(table: Table, command: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const values = command.opts();
  for (const s of table) {
    const prop = camel(s.key);
    if (command.getOptionValueSource(prop) === "cli") out[prop] = coerce(s, values[prop], `flag ${longFlag(s)}`);
  }
  return out;
}

/**
 * An embedding application's settings object (camelCase properties), checked
 * as a config file is; `skip` names the properties that are not settings.
 */
export function fromObject(
  table: Table,
  values: Record<string, unknown>,
  origin: string,
  skip: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [prop, raw] of Object.entries(values)) {
    if (raw === undefined || skip.includes(prop)) continue;
    const s = table.find((r) => camel(r.key) === prop);
    if (!s) {
      throw new ConfigError(
        `${origin}: unknown setting ${JSON.stringify(prop)} (known: ${[...table.map((r) => camel(r.key)), ...skip].join(", ")})`,
      );
    }
    out[prop] = coerce(s, raw, origin);
  }
  return out;
}

/** A duration in the row's unit, in ms; anything else as it is. */
export function inCoreUnits(s: Setting, value: unknown): unknown {
  return s.unit === "s" && typeof value === "number" ? value * 1000 : value;
}

/**
 * The resolved settings placed where each row's `to` says (`core.retry.delayMs`
 * -> `{ core: { retry: { delayMs } } }`), durations converted to ms: the one
 * place where seconds become milliseconds.
 */
export function project(table: Table, settings: object): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of table) {
    if (s.to === undefined) continue;
    const value = (settings as Record<string, unknown>)[camel(s.key)];
    if (value !== undefined) place(out, s.to, inCoreUnits(s, value));
  }
  return out;
}

/** Sets `path` (dot-separated) in `target`, making the objects on the way. */
export function place(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let at = target;
  for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}
