/**
 * Table layout of the command-line tools: one rule under the heads, none
 * between rows, with or without colour codes around the borders.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { printable, withoutRowRules } from "../../src/cli/output.ts";

describe("command-line tables", () => {
  test("keep the rule under the heads and drop the rules between rows", () => {
    const drawn = ["┌───┐", "│ A │", "├───┤", "│ 1 │", "├───┤", "│ 2 │", "└───┘"].join("\n");
    assert.equal(withoutRowRules(drawn), ["┌───┐", "│ A │", "├───┤", "│ 1 │", "│ 2 │", "└───┘"].join("\n"));
  });

  test("recognise a rule drawn in colour", () => {
    const grey = (s: string) => `\x1b[90m${s}\x1b[39m`;
    const drawn = [grey("┌───┐"), "│ A │", grey("├───┤"), "│ 1 │", grey("├───┤"), "│ 2 │", grey("└───┘")].join("\n");
    assert.equal(withoutRowRules(drawn).split("\n").length, 6);
  });

  test("leave a cell that merely contains the rule character alone", () => {
    const drawn = ["│ A │", "├───┤", "│ ├ │"].join("\n");
    assert.equal(withoutRowRules(drawn), drawn);
  });

  test("show control characters as \\xHH, C1 included, and leave the rest alone", () => {
    assert.equal(printable("img-1 \xe9t\xe9"), "img-1 \xe9t\xe9");
    assert.equal(printable("a\x1b[2Jb\x9b1mc\x7f"), "a\\x1b[2Jb\\x9b1mc\\x7f");
  });
});
