/**
 * `gearbox top`'s keymap as a table: key → action, effect or refusal, in each
 * mode; and a chunk of terminal input (several keys in one read) → its keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Command, commandFor, type KeyContext, type KeyInfo, type KeyPress, keysOf, splitKeys } from "../../tui/keymap.ts";

const normal: KeyContext = { editingFilter: false, help: false, readOnly: false };
const readOnly: KeyContext = { ...normal, readOnly: true };
const filtering: KeyContext = { ...normal, editingFilter: true };
const helping: KeyContext = { ...normal, help: true };

const action = (a: object): Command => ({ kind: "action", action: a } as Command);
const effect = (e: string): Command => ({ kind: "effect", effect: e } as Command);

const cases: [string, string, KeyInfo, KeyContext, Command | undefined][] = [
  ["down arrow moves down", "", { downArrow: true }, normal, action({ type: "move", delta: 1 })],
  ["j moves down", "j", {}, normal, action({ type: "move", delta: 1 })],
  ["up arrow moves up", "", { upArrow: true }, normal, action({ type: "move", delta: -1 })],
  ["k moves up (never kills)", "k", {}, normal, action({ type: "move", delta: -1 })],
  ["page down moves by 10", "", { pageDown: true }, normal, action({ type: "move", delta: 10 })],
  ["Tab: next panel", "", { tab: true }, normal, action({ type: "panel", step: 1 })],
  ["Shift-Tab: previous panel", "", { tab: true, shift: true }, normal, action({ type: "panel", step: -1 })],
  ["/ starts the filter", "/", {}, normal, action({ type: "filterStart" })],
  ["s sorts", "s", {}, normal, action({ type: "sort" })],
  ["? opens help", "?", {}, normal, action({ type: "help" })],
  ["Enter toggles detail", "", { return: true }, normal, action({ type: "toggleDetail" })],
  ["q quits", "q", {}, normal, effect("quit")],
  ["Ctrl-C quits", "c", { ctrl: true }, normal, effect("quit")],
  ["+ raises max", "+", {}, normal, effect("maxUp")],
  ["- lowers max", "-", {}, normal, effect("maxDown")],
  ["K (shift) kills", "K", { shift: true }, normal, effect("kill")],
  ["R (shift) retries", "R", { shift: true }, normal, effect("retry")],
  ["r alone does nothing", "r", {}, normal, undefined],
  ["read-only refuses +", "+", {}, readOnly, { kind: "refused", reason: "read-only: + is disabled" }],
  ["read-only refuses K", "K", { shift: true }, readOnly, { kind: "refused", reason: "read-only: K is disabled" }],
  ["read-only refuses R", "R", { shift: true }, readOnly, { kind: "refused", reason: "read-only: R is disabled" }],
  ["read-only still moves", "j", {}, readOnly, action({ type: "move", delta: 1 })],
  ["read-only still quits", "q", {}, readOnly, effect("quit")],
  ["filtering: letters are text, even q", "q", {}, filtering, action({ type: "filterType", text: "q" })],
  ["filtering: K is text, not a kill", "K", { shift: true }, filtering, action({ type: "filterType", text: "K" })],
  ["filtering: backspace deletes", "", { backspace: true }, filtering, action({ type: "filterBackspace" })],
  ["filtering: Enter keeps", "", { return: true }, filtering, action({ type: "filterEnd", keep: true })],
  ["filtering: Esc clears", "", { escape: true }, filtering, action({ type: "filterEnd", keep: false })],
  ["help: ? closes", "?", {}, helping, action({ type: "help" })],
  ["help: Esc closes", "", { escape: true }, helping, action({ type: "help" })],
  ["help: other keys do nothing", "K", { shift: true }, helping, undefined],
  ["unknown keys do nothing", "x", {}, normal, undefined],
];

for (const [name, input, key, ctx, want] of cases) {
  test(`keymap: ${name}`, () => {
    assert.deepEqual(commandFor(input, key, ctx), want);
  });
}

const k = (input: string, key: KeyInfo = {}): KeyPress => ({ input, key });
const down = k("", { downArrow: true });
const up = k("", { upArrow: true });

const chunks: [string, string, KeyPress[]][] = [
  ["two j in one read are two keys", "jj", [k("j"), k("j")]],
  ["an arrow then a letter", "\x1b[Bj", [down, k("j")]],
  ["a letter then an arrow then a letter", "j\x1b[Ak", [k("j"), up, k("k")]],
  ["application-mode arrows (ESC O)", "\x1bOB\x1bOA", [down, up]],
  ["three arrows in a row", "\x1b[B\x1b[B\x1b[B", [down, down, down]],
  ["page keys", "\x1b[6~\x1b[5~", [k("", { pageDown: true }), k("", { pageUp: true })]],
  ["Shift-Tab and Tab", "\x1b[Z\t", [k("", { tab: true, shift: true }), k("", { tab: true })]],
  ["Shift-Up keeps its modifier", "\x1b[1;2A", [k("", { upArrow: true, shift: true })]],
  ["Enter inside a chunk (CR, and LF from a paste)", "j\rd\n", [k("j"), k("", { return: true }), k("d"), k("", { return: true })]],
  ["capitals carry shift, so K and R stay destructive", "jK", [k("j"), k("K", { shift: true })]],
  ["DEL and BS are backspace", "\x7f\b", [k("", { backspace: true }), k("", { backspace: true })]],
  ["Ctrl-C among letters", "j\x03", [k("j"), k("c", { ctrl: true })]],
  ["Alt-letter is ESC and the letter", "\x1bj", [k("j", { meta: true })]],
  ["a lone ESC at the end is Escape", "ab\x1b", [k("a"), k("b"), k("", { escape: true })]],
  ["ESC ESC is Escape twice", "\x1b\x1b", [k("", { escape: true }), k("", { escape: true })]],
  ["a sequence we have no key for is dropped, not typed", "j\x1b[I\x1b[15~k", [k("j"), k("k")]],
  ["a sequence cut short is dropped", "j\x1b[1;", [k("j")]],
  ["text outside ASCII, one key per code point", "é😀", [k("é"), k("😀")]],
];

for (const [name, chunk, want] of chunks) {
  test(`splitting a chunk: ${name}`, () => {
    assert.deepEqual(splitKeys(chunk), want);
  });
}

test("a single key passes through as Ink parsed it, a longer input is split", () => {
  assert.deepEqual(keysOf("", { downArrow: true }), [down]);
  assert.deepEqual(keysOf("K", { shift: true }), [k("K", { shift: true })]);
  assert.deepEqual(keysOf("😀", {}), [k("😀")]);
  assert.deepEqual(keysOf("jj", {}), [k("j"), k("j")]);
});

test("every key of a chunk maps to its command, in order", () => {
  const moves = splitKeys("jj\x1b[Bk").map((p) => commandFor(p.input, p.key, normal));
  assert.deepEqual(moves, [1, 1, 1, -1].map((delta) => action({ type: "move", delta })));
});
