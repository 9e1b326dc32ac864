/**
 * Keys → what they mean, as a pure table: a reducer action, an effect for
 * the app to carry out (quit, change max processes, kill, retry), or a
 * refusal with its reason (a destructive key in --read-only). Destructive
 * keys need the shift key: `K` kills, `R` retries; `k` and `r` never do.
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
  if (destructive) return ctx.readOnly ? { kind: "refused", reason: `read-only: ${input} is disabled` } : { kind: "effect", effect: destructive };
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
