/**
 * `gearbox top`'s scalar settings, rows of the same kind as serve's and
 * drive's (setting.ts). Top has no config file and reads no environment:
 * its rows are flags only. The server and console lists stay plain
 * repeatable options (src/cli/top.ts).
 *
 * @module
 */
import type { Setting, SettingsOf } from "./setting.ts";
import { defaultsOf } from "./settings_table.ts";
import { TLS_CLIENT_ROWS } from "./tls_client_options.ts";

export const TOP_OPTIONS = [
  {
    key: "interval",
    type: "number",
    default: 1,
    short: "-i",
    arg: "<seconds>",
    min: 0.1,
    max: 3600,
    unit: "s",
    to: "tui.intervalMs",
    help: "refresh interval",
  },
  { key: "token", type: "string", default: "", arg: "<token>", help: "the drive console token, if it has one" },
  { key: "read_only", type: "boolean", default: false, help: "disable the keys that change things (+, -, K, R)" },
  ...TLS_CLIENT_ROWS,
] as const satisfies readonly Setting[];

export type TopSettings = SettingsOf<typeof TOP_OPTIONS>;

export const TOP_DEFAULTS: TopSettings = defaultsOf(TOP_OPTIONS);
