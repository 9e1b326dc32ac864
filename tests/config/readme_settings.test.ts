import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { SERVE_OPTIONS } from "../../src/config/serve_options.ts";
import type { Setting } from "../../src/config/setting.ts";

// Two parts: tests/architecture/docs_references.test.ts would read one literal as a citation relative to this file.
const README = readFileSync(new URL("../../README" + ".md", import.meta.url), "utf8");

/** The rows of README's "Settings and limits" table: keys and the default shown for each. */
function readmeDefaults(): Map<string, string> {
  const section = README.split("### Settings and limits")[1]!.split("\n\n").find((p) => p.startsWith("| key |"))!;
  const out = new Map<string, string>();
  for (const line of section.split("\n").slice(2)) {
    const [keysCell, defaultsCell] = line.split(" | ").map((c) => c.replace(/^\| /, ""));
    const keys = [...keysCell!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    const defaults = defaultsCell!.split(" / ");
    keys.forEach((key, i) => {
      assert.ok(!out.has(key), `${key} is in the README table twice`);
      out.set(key, (defaults.length === keys.length ? defaults[i] : defaultsCell)!.trim());
    });
  }
  return out;
}

const UNITS: Record<string, number> = { MiB: 1024 * 1024, KiB: 1024, days: 86400, s: 1, ms: 1, "B/s": 1 };

/** What a README default cell says, as the schema would hold it ("16 MiB" -> 16777216, "7 days" -> 604800). */
function readmeValue(cell: string): unknown {
  const text = cell.replaceAll("`", "").replace(/\s*\([^)]*\)$/, "");
  if (text === "" || cell.startsWith("(") || text.includes("<")) return ""; // "(none: off)", `H:<host>.<boot>`: the empty default's meaning
  if (text === "true" || text === "false") return text === "true";
  const m = /^(-?\d+(?:\.\d+)?)\s*(MiB|KiB|days|s|ms|B\/s)?$/.exec(text);
  return m ? Number(m[1]) * (UNITS[m[2] ?? "s"] ?? 1) : text;
}

describe("README's settings table", () => {
  test("lists every serve setting once, and no setting the schema does not have", () => {
    const listed = [...readmeDefaults().keys()].sort();
    assert.deepEqual(listed, SERVE_OPTIONS.map((s) => s.key).sort());
  });

  test("shows each setting's default as the schema has it", () => {
    const shown = readmeDefaults();
    for (const s of SERVE_OPTIONS as readonly Setting[]) {
      assert.deepEqual(
        readmeValue(shown.get(s.key) ?? "?"),
        s.default,
        `${s.key}: README says ${shown.get(s.key)}, the schema ${JSON.stringify(s.default)}`,
      );
    }
  });
});
