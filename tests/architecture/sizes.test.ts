/**
 * The size rule of docs/architecture.md §5 holds (no file of src/ or tui/ over 400 lines, no
 * function over 60), and scripts/check_sizes.ts can tell when it does not: a small tree made for
 * the test breaks it with every kind of function, and the check must name each.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT } from "../helpers/servers.ts";
import { check, lineCount, MAX_FILE_LINES, MAX_FUNCTION_LINES } from "../../scripts/check_sizes.ts";

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A project of the given files with a tsconfig.json that holds src/ and tui/. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "gearbox-sizes-"));
  scratch.push(root);
  const config = { compilerOptions: { jsx: "preserve", noEmit: true, allowImportingTsExtensions: true }, include: ["src", "tui"] };
  for (const [path, text] of Object.entries({ "tsconfig.json": JSON.stringify(config), ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** `n` statements, one a line. */
const statements = (n: number, indent = "  ") => Array.from({ length: n }, (_, i) => `${indent}void ${i};`).join("\n");

describe("file and function sizes", () => {
  test("the repository has no file over 400 lines and no function over 60", async () => {
    assert.deepEqual(await check(ROOT), []);
  });

  test("a line count is what an editor shows, a final newline ending the last line", () => {
    assert.equal(lineCount(""), 0);
    assert.equal(lineCount("a"), 1);
    assert.equal(lineCount("a\n"), 1);
    assert.equal(lineCount("a\nb"), 2);
  });

  test("every kind of function past the limit is named with its line, and a file past the limit too; one at the limit passes", async () => {
    const at = MAX_FUNCTION_LINES - 2; // the body's lines, plus the opening and closing ones
    const root = tree({
      "src/ok.ts": `export function fits(): void {\n${statements(at)}\n}\n`,
      "src/long.ts": [
        `/** A doc comment is not counted. */`,
        `export function declared(): void {\n${statements(at + 1)}\n}`,
        `export const arrow = (): void => {\n${statements(at + 1)}\n};`,
        `export class C {\n  method(): void {\n${statements(at + 1, "    ")}\n  }\n  get value(): number {\n${
          statements(at + 1, "    ")
        }\n    return 1;\n  }\n}`,
        "",
      ].join("\n"),
      "tui/panel.tsx": `export function Panel() {\n${statements(at)}\n  return <b>x</b>;\n}\n`,
      "tui/big.ts": `${statements(MAX_FILE_LINES + 1, "")}\n`,
    });
    const problems = await check(root);
    assert.deepEqual(problems, [
      `src/long.ts:2: declared is ${at + 3} lines (at most ${MAX_FUNCTION_LINES})`,
      `src/long.ts:${at + 5}: arrow is ${at + 3} lines (at most ${MAX_FUNCTION_LINES})`,
      `src/long.ts:${2 * at + 9}: method is ${at + 3} lines (at most ${MAX_FUNCTION_LINES})`,
      `src/long.ts:${3 * at + 12}: value is ${at + 4} lines (at most ${MAX_FUNCTION_LINES})`,
      `tui/big.ts: ${MAX_FILE_LINES + 1} lines (at most ${MAX_FILE_LINES})`,
      `tui/panel.tsx:1: Panel is ${at + 3} lines (at most ${MAX_FUNCTION_LINES})`,
    ]);
  });
});
