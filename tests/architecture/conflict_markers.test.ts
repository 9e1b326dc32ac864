/**
 * No file of the repository holds a line a merge left behind (`<<<<<<< `,
 * a lone `=======`, `>>>>>>> `): type checking catches them in code, but
 * not in Markdown, YAML or JSON, where one once reached main unnoticed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "../helpers/servers.ts";

const SKIP = new Set(["node_modules", "dist", ".git"]);
const TEXT = /\.(ts|tsx|md|json|ya?ml|c|sh|pl|php|txt)$|^run$/;
const MARKER = /^(<{7} |={7}$|>{7} )/m;

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile() && TEXT.test(entry.name)) yield path;
  }
}

/** The files under `root` with a merge conflict marker at the start of a line. */
export function conflicted(root: string): string[] {
  return [...files(root)].filter((f) => MARKER.test(readFileSync(f, "utf8"))).map((f) => relative(root, f));
}

test("no file of the repository holds a merge conflict marker", () => {
  assert.deepEqual(conflicted(ROOT), []);
});

test("a marker at the start of a line is found, and the same characters inside a line are not", () => {
  const marker = "<".repeat(7);
  assert.ok(MARKER.test(`text\n${marker} HEAD\nmore`));
  assert.ok(!MARKER.test(`text ${marker} HEAD`));
  assert.ok(MARKER.test(`a\n${"=".repeat(7)}\nb`));
  assert.ok(!MARKER.test(`a\n${"=".repeat(8)}\nb`));
});
