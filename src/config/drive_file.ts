/**
 * `gearbox drive --config FILE`: one YAML file's settings (at the top level
 * or under `drive:`), each checked as drive_options.ts checks a flag.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { driveSetting, type DriveSettings, mapping, merge } from "./drive_options.ts";
import { ConfigError } from "./setting.ts";

/** Reads one YAML file (top level, or under `drive:`). */
export function loadDriveFile(path: string): Partial<DriveSettings> {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"), { merge: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${path}: ${code ? `cannot read config file (${code})` : `not valid YAML: ${(e as Error).message.split("\n")[0]}`}`,
    );
  }
  if (doc === null || doc === undefined) return {};
  const top = mapping(doc, path);
  const section = mapping(top.drive ?? top, `${path}: drive`);
  let out: Partial<DriveSettings> = {};
  for (const [key, value] of Object.entries(section)) {
    if (key === "drive") continue;
    out = merge(out, driveSetting(key, value, path));
  }
  return out;
}
