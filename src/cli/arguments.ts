/**
 * Parsers for numeric command-line values: a bad value stops the command
 * with commander's usage error (exit 64), never a silent default.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";

/** A whole number of at least 1 (a count, a limit, milliseconds). */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError("expected a whole number of at least 1.");
  }
  return n;
}
