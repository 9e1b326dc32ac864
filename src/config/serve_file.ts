/**
 * Reads `gearbox serve`'s YAML config files. Apart from the rest of the
 * settings code so that what `mod.ts` exports never imports the `yaml`
 * package: an embedding application (run with `deno run` outside this
 * project, for one) then needs none of the CLI's dependencies.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { settingsFromFile } from "./load_config.ts";
import type { ServeSettings } from "./serve_options.ts";
import { ConfigError } from "./setting.ts";

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
