/**
 * How the command-line tools print: aligned tables (colour only for people
 * at a terminal, never with NO_COLOR), times as UTC, one line per message.
 *
 * @module
 */
import Table from "cli-table3";

/**
 * A table with these column heads: one rule under the heads and none between
 * rows, so a long listing stays one line per row (as `ps` and `kubectl` print).
 */
export function table(head: string[]): Table.Table {
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const t = new Table({ head, style: { head: colour ? ["cyan"] : [], border: colour ? ["grey"] : [] } });
  const render = t.toString.bind(t);
  t.toString = () => withoutRowRules(render());
  return t;
}

/** Drops every row rule after the first (the one under the heads); colour codes may wrap a rule. */
export function withoutRowRules(text: string): string {
  let seen = false;
  return text.split("\n").filter((line) => {
    // deno-lint-ignore no-control-regex
    if (!line.replace(/\x1b\[[0-9;]*m/g, "").startsWith("├")) return true;
    if (seen) return false;
    seen = true;
    return true;
  }).join("\n");
}

/**
 * Text safe to put on a terminal: control characters (C0, DEL and C1, which
 * some terminals take as escape sequences) shown as `\xHH`. Names and uniques
 * are bytes a client chose, or a damaged file holds.
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
}

/** Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SSZ`, or `-` for none. */
export function time(ms: number | string): string {
  const n = Number(ms);
  return n > 0 ? new Date(n).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "-";
}

export function print(text: string): void {
  process.stdout.write(text + "\n");
}

/** One line on stderr, prefixed with the command that speaks. */
export function warn(command: string, text: string): void {
  process.stderr.write(`gearbox ${command}: ${text}\n`);
}

/** `--server` values: repeated flags and comma lists, collected. */
export function collectServers(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(",").map((s) => s.trim()).filter((s) => s !== "")];
}
