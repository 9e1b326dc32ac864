/**
 * What the server accepts as a function name, unique id or client id. Names
 * show up in line-based admin output, so whitespace and control bytes are
 * refused (or, for client ids, replaced) rather than allowed to forge rows.
 *
 * @module
 */

/** Why a function name is unacceptable, or undefined when it is fine. */
export function functionNameProblem(name: string, max: number): { code: string; text: string } | undefined {
  if (name.length === 0) return { code: "INVALID_FUNCTION_NAME", text: "Function name must not be empty" };
  if (name.length > max) return { code: "ARGUMENT_TOO_LARGE", text: "Function name too large" };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) {
      return { code: "INVALID_FUNCTION_NAME", text: "Function name contains whitespace or control bytes" };
    }
  }
  return undefined;
}

/**
 * A client id made safe for the `workers` listing (`FD IP ID : FUNCTIONS`):
 * truncated, and whitespace and control bytes replaced, so an id can neither
 * add rows nor words (gearmand keeps spaces; docs/reliability.md b16).
 * Built char by char: a slice would keep a 1 MiB id alive behind 127 bytes.
 */
export function sanitizeClientId(id: string, max: number): string {
  const n = Math.min(id.length, max);
  if (n === 0) return "-";
  const codes = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    codes[i] = c <= 0x20 || c === 0x7f ? 0x3f : c;
  }
  let out = "";
  for (let i = 0; i < n; i += 4096) out += String.fromCharCode(...codes.slice(i, i + 4096));
  return out;
}

/**
 * A unique as one field of a line-based admin listing: tab, CR, LF and other
 * control bytes are written as `\t`, `\r`, `\n`, `\xHH`, and a unique that
 * is a lone `.` (the end-of-list line) as `\x2e`. Other uniques print as sent,
 * as gearmand prints them.
 */
export function listingField(text: string): string {
  if (text === ".") return "\\x2e";
  // deno-lint-ignore no-control-regex
  const control = /[\x00-\x1f\x7f]/g; // its own line, so the ignore above survives formatting
  if (!control.test(text)) return text;
  return text.replace(
    control,
    (c) => c === "\t" ? "\\t" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"),
  );
}

/** Parses a non-negative decimal the way gearmand's atoi does for status numbers ("7x" → 7, "abc" → 0). */
export function leadingDigits(text: string): string {
  const m = /^\s*\+?(\d{1,20})/.exec(text);
  return m ? String(BigInt(m[1]!)) : "0";
}
