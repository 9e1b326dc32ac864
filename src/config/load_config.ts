/**
 * Resolves `gearbox serve`'s settings: defaults < config files (YAML, in the
 * order given) < environment (`GEARBOX_<KEY>`) < flags, and an embedding
 * application's object (`createServer`) checked the same way. Every error
 * names the key and where it came from.
 *
 * @module
 */
import { ConfigError } from "./setting.ts";
import { parseListeners } from "./serve_listeners.ts";
import { fromEnv, fromKey, fromObject } from "./settings_table.ts";
import { type FunctionSettings, PER_FUNCTION_OPTIONS, SERVE_DEFAULTS, SERVE_OPTIONS, type ServeSettings } from "./serve_options.ts";

/** Validates a parsed config file (a mapping of snake_case keys, top level or under `serve:`). */
export function settingsFromFile(doc: unknown, origin: string): Partial<ServeSettings> {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(`${origin}: the top level must be a mapping of settings`);
  const section = (doc as Record<string, unknown>).serve ?? doc;
  if (typeof section !== "object" || section === null) throw new ConfigError(`${origin}: serve must be a mapping`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section)) {
    if (key === "functions") {
      out.functions = functionsFrom(value, origin);
      continue;
    }
    if (key === "listeners") {
      out.listeners = parseListeners(value, origin);
      continue;
    }
    const entry = fromKey(SERVE_OPTIONS, key, value, origin);
    if (entry) out[entry[0]] = entry[1];
    else if (key !== "serve") {
      throw new ConfigError(
        `${origin}: unknown setting ${JSON.stringify(key)} (known: ${SERVE_OPTIONS.map((o) => o.key).join(", ")}, functions, listeners)`,
      );
    }
  }
  return out as Partial<ServeSettings>;
}

/** The `functions:` section: per-function overrides, by the same rows as the global settings. */
export function functionsFrom(doc: unknown, origin: string): Record<string, FunctionSettings> {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(`${origin}: functions must map function names to settings`);
  const out: Record<string, FunctionSettings> = {};
  for (const [name, settings] of Object.entries(doc)) {
    // deno-lint-ignore no-control-regex
    if (!/^[^\s\x00-\x1f\x7f]{1,512}$/.test(name)) {
      throw new ConfigError(`${origin}: functions: ${JSON.stringify(name)} is not a valid function name`);
    }
    if (typeof settings !== "object" || settings === null || Array.isArray(settings)) {
      throw new ConfigError(`${origin}: functions.${name} must be a mapping of settings`);
    }
    const fn: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(settings)) {
      const entry = fromKey(PER_FUNCTION_OPTIONS, key, value, `${origin}: functions.${name}`);
      if (!entry) {
        throw new ConfigError(
          `${origin}: functions.${name}: unknown setting ${JSON.stringify(key)} (known: ${
            PER_FUNCTION_OPTIONS.map((o) => o.key).join(", ")
          })`,
        );
      }
      fn[key] = entry[1];
    }
    out[name] = fn as FunctionSettings;
  }
  return out;
}

export function settingsFromEnv(env: Record<string, string | undefined>): Partial<ServeSettings> {
  return fromEnv(SERVE_OPTIONS, "GEARBOX_", env) as Partial<ServeSettings>;
}

/**
 * An embedding application's settings (`createServer({...})`), checked as
 * the command line checks them: a bad value throws a ConfigError naming the key.
 */
export function checkServeSettings(options: Record<string, unknown>, origin = "createServer"): Partial<ServeSettings> {
  const { functions, listeners, ...rest } = options;
  const out = fromObject(SERVE_OPTIONS, rest, origin) as Partial<ServeSettings>;
  if (functions !== undefined) out.functions = functionsFrom(functions, origin);
  if (listeners !== undefined) out.listeners = parseListeners(listeners, origin);
  return out;
}

export function resolveSettings(layers: Partial<ServeSettings>[]): ServeSettings {
  return Object.assign({ ...SERVE_DEFAULTS }, ...layers);
}
