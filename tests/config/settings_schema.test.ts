import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { settingsFromEnv } from "../../src/config/load_config.ts";
import { loadConfigFile } from "../../src/config/serve_file.ts";
import { SERVE_OPTIONS } from "../../src/config/serve_options.ts";
import { DRIVE_DEFAULTS, DRIVE_OPTIONS, driveSettingsFromEnv, driveTimes } from "../../src/config/drive_options.ts";
import { loadDriveFile } from "../../src/config/drive_file.ts";
import { TOP_OPTIONS } from "../../src/config/top_options.ts";
import { camel, coerce, ConfigError, envName, type Setting } from "../../src/config/setting.ts";
import { addFlags, fromFlags, type Table } from "../../src/config/settings_table.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

function yamlFile(text: string): string {
  const p = join(tempDir("gearbox-schema-"), "settings.yaml");
  writeFileSync(p, text);
  return p;
}

/** A valid value other than the default, as typed in YAML or on a command line. */
function sample(s: Setting): string {
  switch (s.type) {
    case "boolean":
      return String(!s.default);
    case "level":
      return s.default === "warn" ? "error" : "warn";
    case "string":
      return s.choices ? s.choices.find((c) => c !== s.default)! : "sample-value";
    default: {
      const n = s.max !== undefined && s.max !== s.default ? s.max : (s.min ?? 0) + 1;
      return String(n);
    }
  }
}

function expected(s: Setting, text: string): unknown {
  if (s.type === "boolean") return text === "true";
  if (s.type === "int" || s.type === "number") return Number(text);
  return text;
}

/** Parses one row's flag with the table's own commander options. */
function parseFlag(table: Table, s: Setting, text: string): Record<string, unknown> {
  const cmd = new Command().exitOverride();
  addFlags(cmd, table);
  const flag = `--${s.negated ? "no-" : ""}${s.key.replaceAll("_", "-")}`;
  const args = s.type === "boolean" ? (expected(s, text) === s.default ? [] : [flag]) : [flag, text];
  cmd.parse(args, { from: "user" });
  return fromFlags(table, cmd);
}

const TABLES: [name: string, table: Table, prefix: string][] = [["serve", SERVE_OPTIONS, "GEARBOX_"], [
  "drive",
  DRIVE_OPTIONS,
  "GEARBOX_DRIVE_",
], ["top", TOP_OPTIONS, ""]];

describe("the settings schema", () => {
  for (const [name, table] of TABLES) {
    test(`every ${name} row has a snake_case key, help, and a default its own check accepts`, () => {
      const keys = new Set<string>();
      for (const s of table) {
        assert.match(s.key, /^[a-z][a-z0-9_]*$/);
        assert.ok(!keys.has(s.key), `${s.key} is defined twice`);
        keys.add(s.key);
        assert.ok(s.help.length > 10, `${s.key} needs help text`);
        assert.deepEqual(coerce(s, s.default, "default"), s.default, `${s.key}'s default fails its own check`);
      }
    });

    test(`every ${name} row's flag gives the value its text says`, () => {
      for (const s of table) {
        const text = sample(s);
        const got = parseFlag(table, s, text);
        const want = s.type === "boolean" && expected(s, text) === s.default ? {} : { [camel(s.key)]: expected(s, text) };
        assert.deepEqual(got, want, s.key);
      }
    });
  }

  test("every serve row round-trips through a YAML key, a GEARBOX_ variable and a flag to the same value", () => {
    for (const s of SERVE_OPTIONS as Table) {
      const text = sample(s);
      const want = { [camel(s.key)]: expected(s, text) };
      assert.deepEqual(loadConfigFile(yamlFile(`${s.key}: ${text}\n`)), want, `${s.key} from YAML`);
      assert.deepEqual(settingsFromEnv({ [envName("GEARBOX_", s)]: text }), want, `${s.key} from the environment`);
      if (s.type !== "boolean" || expected(s, text) !== s.default) {
        assert.deepEqual(parseFlag(SERVE_OPTIONS, s, text), want, `${s.key} from a flag`);
      }
    }
  });

  test("every drive row round-trips through a YAML key, a GEARBOX_DRIVE_ variable and a flag to the same value", () => {
    for (const s of DRIVE_OPTIONS as Table) {
      const text = sample(s);
      const want = { [camel(s.key)]: expected(s, text) };
      assert.deepEqual(loadDriveFile(yamlFile(`${s.key}: ${text}\n`)), want, `${s.key} from YAML`);
      assert.deepEqual(driveSettingsFromEnv({ [envName("GEARBOX_DRIVE_", s)]: text }), want, `${s.key} from the environment`);
      if (s.type !== "boolean" || expected(s, text) !== s.default) {
        assert.deepEqual(parseFlag(DRIVE_OPTIONS, s, text), want, `${s.key} from a flag`);
      }
    }
  });

  test("every drive duration reaches the supervisor in ms, converted once, and every timer has a row", () => {
    for (const s of (DRIVE_OPTIONS as Table).filter((r) => r.to !== undefined)) {
      const n = s.min !== undefined && s.min > 2 ? s.min : 2;
      const times = driveTimes({ ...DRIVE_DEFAULTS, [camel(s.key)]: n }) as unknown as Record<string, Record<string, unknown>>;
      const [group, field] = s.to!.split(".");
      assert.equal(times[group!]![field!], s.unit === "s" ? n * 1000 : n, `${s.key} -> ${s.to}`);
    }
    const times = driveTimes(DRIVE_DEFAULTS);
    assert.deepEqual(times, {
      timers: { intervalMs: 5000, maxIdleMs: 60_000, drainTimeoutMs: 30_000 },
      restart: { restartDelayMs: 1000, restartDelayMaxMs: 60_000, crashLoopAfter: 5, stableAfterMs: 30_000 },
    });
  });

  test("console_port takes auto from every source, and says so when refused", () => {
    assert.deepEqual(driveSettingsFromEnv({ GEARBOX_DRIVE_CONSOLE_PORT: "auto" }), { consolePort: "auto" });
    assert.deepEqual(loadDriveFile(yamlFile("console_port: auto\n")), { consolePort: "auto" });
    assert.throws(
      () => loadDriveFile(yamlFile("console_port: soon\n")),
      /console_port must be an integer, got "soon" \(or auto: a free port\)/,
    );
  });

  for (const [name, table, prefix] of TABLES) {
    test(`every bounded ${name} row refuses a value just outside its bounds, from every source, naming key and source`, () => {
      for (const s of table) {
        const outside = [s.min !== undefined ? s.min - 1 : undefined, s.max !== undefined ? s.max + 1 : undefined].filter((n) =>
          n !== undefined
        );
        for (const n of outside) {
          const bounds = new RegExp(`${s.key} must be between ${s.min} and ${s.max}, got ${n}`);
          assert.throws(
            () => coerce(s, n, "file.yaml"),
            (e) => e instanceof ConfigError && e.code === "INVALID_CONFIG" && bounds.test(e.message),
            s.key,
          );
          assert.throws(() => parseFlag(table, s, String(n)), new RegExp(`flag --${s.key.replaceAll("_", "-")}: ${bounds.source}`), s.key);
          if (name === "serve") {
            assert.throws(
              () => settingsFromEnv({ [envName(prefix, s)]: String(n) }),
              new RegExp(`environment ${envName(prefix, s)}: `),
              s.key,
            );
          }
          if (name === "drive") {
            assert.throws(
              () => driveSettingsFromEnv({ [envName(prefix, s)]: String(n) }),
              new RegExp(`environment ${envName(prefix, s)}: `),
              s.key,
            );
          }
        }
        if (s.type === "int") assert.throws(() => coerce(s, 1.5, "here"), new RegExp(`here: ${s.key} must be an integer, got 1.5`));
        if (s.choices) {
          assert.throws(() => coerce(s, "neither", "here"), new RegExp(`here: ${s.key} must be one of ${s.choices.join(", ")}`));
        }
      }
    });
  }
});
