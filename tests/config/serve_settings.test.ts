import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveSettings, settingsFromEnv } from "../../src/config/load_config.ts";
import { loadConfigFile } from "../../src/config/serve_file.ts";
import { SERVE_DEFAULTS, SERVE_OPTIONS } from "../../src/config/serve_options.ts";
import { ConfigError } from "../../src/config/setting.ts";
import { camel } from "../../src/config/setting.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

function file(text: string): string {
  const p = join(tempDir("gearbox-config-"), "serve.yaml");
  writeFileSync(p, text);
  return p;
}

describe("serve settings", () => {
  test("every option has a default, a snake_case key and a help text", () => {
    for (const o of SERVE_OPTIONS) {
      assert.ok(camel(o.key) in SERVE_DEFAULTS, `${o.key} has no default`);
      assert.match(o.key, /^[a-z][a-z0-9_]*$/);
      assert.ok(o.help.length > 10, `${o.key} needs help text`);
    }
  });

  test("a YAML file sets keys, with merge keys, top level or under serve:", () => {
    const a = loadConfigFile(file("base: &b\n  port: 5000\nserve:\n  <<: *b\n  max_packet_size: 2048\n  round_robin: true\n"));
    assert.deepEqual(a, { port: 5000, maxPacketSize: 2048, roundRobin: true });
    const b = loadConfigFile(file("listen: 0.0.0.0\nlog_level: DEBUG\n"));
    assert.deepEqual(b, { listen: "0.0.0.0", logLevel: "debug" });
  });

  test("a functions: section sets per-function leases and queue limits, and names bad keys", () => {
    assert.deepEqual(loadConfigFile(file("grab_for: 3600\nfunctions:\n  resize:\n    grab_for: 60\n    max_queue: 100\n")), {
      grabFor: 3600,
      functions: { resize: { grab_for: 60, max_queue: 100 } },
    });
    const bad = file("functions:\n  resize:\n    grab_four: 60\n");
    assert.throws(() => loadConfigFile(bad), new RegExp(`${bad}: functions.resize: unknown setting "grab_four"`));
    assert.throws(
      () => loadConfigFile(file("functions:\n  resize:\n    grab_for: -1\n")),
      /functions.resize: grab_for must be between 0 and/,
    );
    assert.throws(() => loadConfigFile(file('functions:\n  "a b": {}\n')), /"a b" is not a valid function name/);
  });

  test("files < environment < flags, later layers winning", () => {
    const s = resolveSettings([{ port: 1 }, { port: 2, wakeup: 3 }, { port: 4 }]);
    assert.equal(s.port, 4);
    assert.equal(s.wakeup, 3);
    assert.equal(s.maxConnections, SERVE_DEFAULTS.maxConnections);
  });

  test("environment variables are GEARBOX_ plus the upper-case key", () => {
    assert.deepEqual(settingsFromEnv({ GEARBOX_MAX_QUEUE: "10", GEARBOX_EXCEPTIONS: "true", HOME: "/x" }), {
      maxQueue: 10,
      exceptions: true,
    });
  });

  test("errors name the file and the key", () => {
    const bad = file("port: seventy\n");
    assert.throws(
      () => loadConfigFile(bad),
      (e) => e instanceof ConfigError && e.message === `${bad}: port must be an integer, got "seventy"`,
    );
    const range = file("max_connections: 0\n");
    assert.throws(() => loadConfigFile(range), /max_connections must be between 1 and/);
    const unknown = file("prot: 1\n");
    assert.throws(() => loadConfigFile(unknown), /unknown setting "prot"/);
    const yaml = file("port: [1\n");
    assert.throws(() => loadConfigFile(yaml), /not valid YAML/);
    assert.throws(() => loadConfigFile("/nonexistent/serve.yaml"), /cannot read config file \(ENOENT\)/);
    assert.throws(
      () => settingsFromEnv({ GEARBOX_WAKEUP_DELAY: "soon" }),
      /environment GEARBOX_WAKEUP_DELAY: wakeup_delay must be a number/,
    );
  });
});
