/**
 * Keys → what they mean, as a pure table: a reducer action, an effect for
 * the app to carry out (quit, change max processes, kill, retry), or a
 * refusal with its reason (a destructive key in --read-only). Destructive
 * keys need the shift key: `K` kills, `R` retries; `k` and `r` never do.
 *
 * Keys that reach the program in one read (a paste, key repeat over ssh, a
 * script) come as one chunk; `keysOf` splits it into the keys it holds, in
 * order, so each one acts.
 *
 * @module
 */
import type { Action } from "./state.ts";

/** The subset of Ink's key object the map reads. */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  tab?: boolean;
  shift?: boolean;
  escape?: boolean;
  return?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

/** One key press: the text it types ("" for arrows and the like) and its flags. */
export interface KeyPress {
  input: string;
  key: KeyInfo;
}

const ESC = "\x1b";

/** CSI/SS3 final bytes (ESC [ A, ESC O A, ESC [ 1;2 A) → keys. */
const LETTER_KEYS: Record<string, KeyInfo> = {
  A: { upArrow: true },
  B: { downArrow: true },
  C: { rightArrow: true },
  D: { leftArrow: true },
  Z: { tab: true, shift: true },
};
/** ESC [ n ~ → keys. */
const TILDE_KEYS: Record<string, KeyInfo> = {
  "3": { delete: true },
  "5": { pageUp: true },
  "6": { pageDown: true },
};

/** xterm's modifier parameter (1 + shift 1, alt 2, ctrl 4) as flags. */
function modifiers(param: string | undefined): KeyInfo {
  const bits = Number(param ?? "1") - 1;
  if (!(bits > 0)) return {};
  const flags: KeyInfo = {};
  if (bits & 1) flags.shift = true;
  if (bits & 2) flags.meta = true;
  if (bits & 4) flags.ctrl = true;
  return flags;
}

/**
 * A control sequence starting at `at` (just after its ESC): the key it means
 * (undefined for one we have no use for) and where the next key starts, or
 * undefined when `chunk[at]` does not start one.
 */
function controlSequence(chunk: string, at: number): { key: KeyInfo | undefined; next: number } | undefined {
  const kind = chunk[at];
  if (kind === "O") {
    // SS3: ESC O, optional digits and ';', a final letter (application-mode arrows).
    let i = at + 1;
    while (i < chunk.length && /[0-9;]/.test(chunk[i]!)) i++;
    if (i >= chunk.length) return { key: undefined, next: chunk.length };
    const base = LETTER_KEYS[chunk[i]!];
    return { key: base && { ...base, ...modifiers(chunk.slice(at + 1, i).split(";")[1]) }, next: i + 1 };
  }
  if (kind !== "[") return undefined;
  // CSI: ESC [, parameter bytes 0x30-0x3f, intermediate bytes 0x20-0x2f, one final byte 0x40-0x7e.
  let i = at + 1;
  if (chunk[i] === "[") i++; // the Linux console's ESC [ [ A for F1..F5
  const paramsFrom = i;
  while (i < chunk.length && chunk.charCodeAt(i) >= 0x30 && chunk.charCodeAt(i) <= 0x3f) i++;
  const params = chunk.slice(paramsFrom, i).split(";");
  while (i < chunk.length && chunk.charCodeAt(i) >= 0x20 && chunk.charCodeAt(i) <= 0x2f) i++;
  if (i >= chunk.length) return { key: undefined, next: chunk.length }; // cut short: nothing to act on
  const final = chunk[i]!;
  if (chunk.charCodeAt(i) < 0x40 || chunk.charCodeAt(i) > 0x7e) return { key: undefined, next: i }; // malformed: drop what came so far
  const base = final === "~" ? TILDE_KEYS[params[0]!] : paramsFrom === at + 2 ? undefined : LETTER_KEYS[final];
  return { key: base && { ...base, ...modifiers(params[1]) }, next: i + 1 };
}

/** A control character (below 0x20, or DEL) as the key it is. */
function controlKey(ch: string): KeyPress {
  if (ch === "\r" || ch === "\n") return { input: "", key: { return: true } };
  if (ch === "\t") return { input: "", key: { tab: true } };
  if (ch === "\x7f" || ch === "\b") return { input: "", key: { backspace: true } };
  const code = ch.charCodeAt(0);
  return { input: String.fromCharCode(code + (code <= 26 ? 96 : 64)), key: { ctrl: true } };
}

/** One printable character as a key press; a capital letter is typed with shift. */
function printable(ch: string, extra: KeyInfo = {}): KeyPress {
  return { input: ch, key: /^[A-Z]$/.test(ch) ? { ...extra, shift: true } : { ...extra } };
}

/**
 * Splits a chunk of terminal input into its key presses, in order: escape
 * sequences (arrows, page keys, Shift-Tab, with their modifiers), control
 * characters (Enter, Tab, Backspace, Ctrl-letter), Alt-letter (ESC and a
 * character), and each printable character on its own. A lone ESC at the end
 * is the Escape key; a sequence cut short or one that means no key here is
 * dropped, never typed as text.
 */
export function splitKeys(chunk: string): KeyPress[] {
  const keys: KeyPress[] = [];
  let i = 0;
  while (i < chunk.length) {
    const ch = String.fromCodePoint(chunk.codePointAt(i)!);
    if (ch !== ESC) {
      const code = ch.codePointAt(0)!;
      keys.push(code < 0x20 || code === 0x7f ? controlKey(ch) : printable(ch));
      i += ch.length;
      continue;
    }
    if (i + 1 >= chunk.length) {
      keys.push({ input: "", key: { escape: true } });
      i++;
      continue;
    }
    // ESC ESC: Alt with the key that follows, or Escape pressed twice.
    const meta = chunk[i + 1] === ESC && i + 2 < chunk.length;
    const at = meta ? i + 2 : i + 1;
    const seq = controlSequence(chunk, at);
    if (seq) {
      if (seq.key) keys.push({ input: "", key: meta ? { ...seq.key, meta: true } : seq.key });
      i = seq.next;
      continue;
    }
    if (meta || chunk[at] === ESC) {
      keys.push({ input: "", key: { escape: true } });
      i++;
      continue;
    }
    // ESC and a character: that character with Alt (how terminals send Alt-x).
    const next = String.fromCodePoint(chunk.codePointAt(at)!);
    const code = next.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) {
      const control = controlKey(next);
      keys.push({ input: control.input, key: { ...control.key, meta: true } });
    } else keys.push(printable(next, { meta: true }));
    i = at + next.length;
  }
  return keys;
}

/**
 * The key presses one input event holds. Ink parses a single key (and splits
 * escape sequences from what surrounds them) but hands printable keys that
 * arrived in one read over as one string ("jj"), with the flags of none of
 * them: a single key passes through as Ink parsed it, anything longer is split.
 */
export function keysOf(input: string, key: KeyInfo): KeyPress[] {
  if (input.length <= 1 || [...input].length <= 1) return [{ input, key }];
  return splitKeys(input);
}

export type Effect = "quit" | "maxUp" | "maxDown" | "kill" | "retry";

export type Command =
  | { kind: "action"; action: Action }
  | { kind: "effect"; effect: Effect }
  | { kind: "refused"; reason: string };

export interface KeyContext {
  editingFilter: boolean;
  help: boolean;
  readOnly: boolean;
}

const DESTRUCTIVE: Record<string, Effect> = { K: "kill", R: "retry" };

/** The command for one key press, or undefined when the key means nothing here. */
export function commandFor(input: string, key: KeyInfo, ctx: KeyContext): Command | undefined {
  const act = (action: Action): Command => ({ kind: "action", action });
  if (key.ctrl && input === "c") return { kind: "effect", effect: "quit" };
  if (ctx.editingFilter) {
    if (key.return) return act({ type: "filterEnd", keep: true });
    if (key.escape) return act({ type: "filterEnd", keep: false });
    if (key.backspace || key.delete) return act({ type: "filterBackspace" });
    if (input !== "" && !key.ctrl && !key.tab && !key.upArrow && !key.downArrow) return act({ type: "filterType", text: input });
    return undefined;
  }
  if (ctx.help) {
    if (input === "?" || input === "q" || key.escape) return act({ type: "help" });
    return undefined;
  }
  if (key.upArrow || input === "k") return act({ type: "move", delta: -1 });
  if (key.downArrow || input === "j") return act({ type: "move", delta: 1 });
  if (key.pageUp) return act({ type: "move", delta: -10 });
  if (key.pageDown) return act({ type: "move", delta: 10 });
  if (key.tab) return act({ type: "panel", step: key.shift ? -1 : 1 });
  if (key.return || input === "d") return act({ type: "toggleDetail" });
  switch (input) {
    case "q":
      return { kind: "effect", effect: "quit" };
    case "?":
      return act({ type: "help" });
    case "/":
      return act({ type: "filterStart" });
    case "s":
      return act({ type: "sort" });
    case "+":
    case "=":
      return ctx.readOnly ? { kind: "refused", reason: "read-only: + is disabled" } : { kind: "effect", effect: "maxUp" };
    case "-":
      return ctx.readOnly ? { kind: "refused", reason: "read-only: - is disabled" } : { kind: "effect", effect: "maxDown" };
  }
  const destructive = DESTRUCTIVE[input];
  if (destructive) {
    return ctx.readOnly ? { kind: "refused", reason: `read-only: ${input} is disabled` } : { kind: "effect", effect: destructive };
  }
  return undefined;
}

/** The help overlay's lines, from the same table the keys use. */
export const HELP_LINES: readonly string[] = [
  "↑/↓ or j/k   move          PgUp/PgDn  move by 10",
  "Tab          next panel    Shift-Tab  previous panel",
  "Enter or d   detail of the selected function (failures, scheduled jobs)",
  "/            filter by name (Enter keeps, Esc clears)",
  "s            sort queues: name, queued, running, rate",
  "+ / -        raise / lower max processes of the selected job",
  "K (shift)    kill the selected process",
  "R (shift)    retry the selected function's failed jobs",
  "?            this help     q  quit",
];
