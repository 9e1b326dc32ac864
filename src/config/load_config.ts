/**
 * Resolves `gearbox serve`'s settings: defaults < config files (YAML, in the
 * order given) < environment (`GEARBOX_<KEY>`) < flags. Every error names
 * the key and where it came from.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { ConfigError, coerceOption, SERVE_DEFAULTS, SERVE_OPTIONS, type ServeSettings, settingsFromFile } from "./serve_options.ts";

export function loadConfigFile(path: string): Partial<ServeSettings> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${path}: cannot read config file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { merge: true });
  } catch (e) {
    throw new ConfigError(`${path}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  return settingsFromFile(doc, path);
}

export function settingsFromEnv(env: Record<string, string | undefined>): Partial<ServeSettings> {
  const out: Record<string, unknown> = {};
  for (const spec of SERVE_OPTIONS) {
    const name = `GEARBOX_${spec.key.toUpperCase()}`;
    const v = env[name];
    if (v !== undefined && v !== "") out[spec.prop] = coerceOption(spec, v, `environment ${name}`);
  }
  return out as Partial<ServeSettings>;
}

export function resolveSettings(layers: Partial<ServeSettings>[]): ServeSettings {
  return Object.assign({ ...SERVE_DEFAULTS }, ...layers);
}
