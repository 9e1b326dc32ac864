import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { RetryPolicy } from "../../src/core/mod.ts";
import { SERVE_OPTIONS } from "../../src/config/serve_options.ts";
import { camel, ConfigError, type Setting } from "../../src/config/setting.ts";
import { resolveServer } from "../../src/server/server_settings.ts";
import { createServer } from "../../src/server/server.ts";

const ROWS: readonly Setting[] = SERVE_OPTIONS;

/** The value at a row's `to` path in the resolved server. */
function at(resolved: Record<string, unknown>, path: string): unknown {
  return path.split(".").reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], resolved);
}

/** A valid number for a numeric row, not its default, so that a conversion shows. */
function number(s: Setting): number {
  const fits = (v: number | undefined) => v !== undefined && v >= (s.min ?? -Infinity) && v <= (s.max ?? Infinity) && v !== s.default;
  return [2, s.min, s.max].find(fits)!;
}

describe("a server's settings behind the edge", () => {
  test("every duration in seconds reaches the core, the connection and the edge in ms, converted once", () => {
    for (const s of ROWS.filter((r) => r.to !== undefined && (r.type === "int" || r.type === "number"))) {
      const n = number(s);
      const resolved = resolveServer({ [camel(s.key)]: n }) as unknown as Record<string, unknown>;
      const want = s.unit === "s" ? n * 1000 : n;
      assert.equal(at(resolved, s.to!), want, `${s.key} -> ${s.to}`);
      assert.equal((resolved.settings as Record<string, unknown>)[camel(s.key)], n, `${s.key} stays as given in server.settings`);
    }
  });

  test("every row's target is a field the core, the connection limits or the edge has", () => {
    const { core, connection, edge } = resolveServer({});
    const coreKeys = coreOptionKeys();
    for (const key of Object.keys(core)) assert.ok(coreKeys.includes(key), `core has no ${key}`);
    const policyKeys = ["maxRetries", "delayMs", "backoff", "maxDelayMs", "jitter"] satisfies (keyof RetryPolicy)[];
    assert.deepEqual(Object.keys(core.retry).sort(), policyKeys.sort(), "the retry rows fill the whole policy");
    for (const s of ROWS.filter((r) => r.to !== undefined)) {
      assert.notEqual(at({ core, connection, edge }, s.to!), undefined, `${s.key}'s target ${s.to} got no value`);
    }
  });

  test("every core option is a serve setting with a default, or part of the server's identity, so the core has no defaults of its own", () => {
    const { core } = resolveServer({});
    const identity = ["handlePrefix", "version", "pid", "verbose", "random", "storeReadsPayloads"];
    const missing = coreOptionKeys().filter((k) => !(k in core) && !identity.includes(k));
    assert.deepEqual(missing, [], "core options with no serve row");
    for (const [key, value] of Object.entries(core)) assert.notEqual(value, undefined, key);
  });

  test("a function's overrides land in core.functions by the same rows, in ms", () => {
    const { core } = resolveServer({
      functions: { resize: { grab_for: 60, max_queue: 10, retry_delay: 5, retry_backoff: "exponential", keep_failed_for: 1 } },
    });
    assert.deepEqual(core.functions, {
      resize: { grabForMs: 60_000, maxQueue: 10, retry: { delayMs: 5000, backoff: "exponential" }, keepFailedForMs: 1000 },
    });
  });
});

describe("createServer checks its options as the command line does", () => {
  test("a value outside a row's bounds throws a ConfigError naming the key, for every bounded row", () => {
    for (const s of ROWS.filter((r) => r.max !== undefined)) {
      const bad = s.max! + 1;
      assert.throws(
        () => createServer({ store: "memory:", [camel(s.key)]: bad }),
        (e) =>
          e instanceof ConfigError && e.code === "INVALID_CONFIG" &&
          e.message === `createServer: ${s.key} must be between ${s.min} and ${s.max}, got ${bad}`,
        s.key,
      );
    }
  });

  test("a wrong type, a wrong choice, an unknown setting and a bad function override are refused by name", () => {
    assert.throws(
      () => createServer({ port: "seventy" as unknown as number }),
      /^ConfigError: createServer: port must be an integer, got "seventy"$/,
    );
    assert.throws(
      () => createServer({ retryBackoff: "linear" as "fixed" }),
      /createServer: retry_backoff must be one of fixed, exponential, got "linear"/,
    );
    assert.throws(() => createServer({ prot: 1 } as Record<string, unknown>), /createServer: unknown setting "prot"/);
    assert.throws(
      () => createServer({ functions: { resize: { grab_four: 1 } as Record<string, number> } }),
      /createServer: functions.resize: unknown setting "grab_four"/,
    );
    assert.throws(
      () => createServer({ functions: { resize: { grab_for: -1 } } }),
      /createServer: functions.resize: grab_for must be between 0 and/,
    );
  });

  test("valid options are taken, strings as the environment would give them included", () => {
    const server = createServer({ store: "memory:", port: "0" as unknown as number, grabFor: 30, logLevel: "warn" });
    assert.equal(server.settings.port, 0);
    assert.equal(server.settings.grabFor, 30);
    assert.equal(server.core.view.options.grabForMs, 30_000);
  });
});

/** The fields of the core's `CoreOptions`, read from its source (a type leaves nothing to list at run time). */
function coreOptionKeys(): string[] {
  const src = readFileSync(new URL("../../src/core/core_options.ts", import.meta.url), "utf8");
  const body = /export interface CoreOptions \{([\s\S]*?)\n\}/.exec(src)![1]!;
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!);
}
