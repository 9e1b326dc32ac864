/**
 * The admin text protocol's lexical rules and reply shapes, as gearmand
 * 1.1.20 has them (docs/protocol.md §4): space-separated tokens, case-insensitive
 * command words, `\n` after lists and `OK value`, `\r\n` after bare `OK` and
 * every `ERR`.
 *
 * @module
 */

/** Splits a line: runs of spaces collapse, but a leading space makes an empty first token. */
export function adminTokens(line: string): string[] {
  const parts = line.split(" ");
  const out = [parts[0]!];
  for (let i = 1; i < parts.length; i++) if (parts[i] !== "") out.push(parts[i]!);
  return out;
}

/** `OK\r\n` (bare OK ends in CRLF). */
export const OK_CRLF = "OK\r\n";

/** `OK <value>\n`. */
export function okValue(value: string): string {
  return `OK ${value}\n`;
}

/** `ERR <code> <text with + for spaces>\r\n`, or `ERR <code>\r\n` without text. */
export function errLine(code: string, text?: string): string {
  return text === undefined ? `ERR ${code}\r\n` : `ERR ${code} ${text.replaceAll(" ", "+")}\r\n`;
}

/** A list reply: each row on its own line, then `.`. */
export function listReply(rows: Iterable<string>): string {
  let out = "";
  for (const r of rows) out += r + "\n";
  return out + ".\n";
}

/** gearmand's reply to a command it does not know. */
export function unknownCommand(word: string): string {
  return errLine("UNKNOWN_COMMAND", "Unknown server command" + word.slice(0, 64));
}

/** gearmand's reply to a command with too few arguments. */
export function invalidArguments(command: string): string {
  return errLine("INVALID_ARGUMENTS", "An incomplete set of arguments was sent to this command " + command);
}
