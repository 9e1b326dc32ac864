/** `gearbox top`'s keymap as a table: key → action, effect or refusal, in each mode. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Command, commandFor, type KeyContext, type KeyInfo } from "../../tui/keymap.ts";

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
