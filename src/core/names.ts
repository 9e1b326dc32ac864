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

/** A client id made safe for the `workers` listing: truncated, control bytes replaced. */
export function sanitizeClientId(id: string, max: number): string {
  // deno-lint-ignore no-control-regex
  const clean = id.slice(0, max).replace(/[\x00-\x1f\x7f]/g, "?");
  return clean.length === 0 ? "-" : clean;
}

/** Parses a non-negative decimal the way gearmand's atoi does for status numbers ("7x" → 7, "abc" → 0). */
export function leadingDigits(text: string): string {
  const m = /^\s*\+?(\d{1,20})/.exec(text);
  return m ? String(BigInt(m[1]!)) : "0";
}
