/**
 * Reads a PEM file (a CA, a certificate, a key) for TLS settings, with an
 * error that names the file and what it was for.
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** The file's text; throws naming `what` and the path when it cannot be read or holds no PEM block. */
export function readPemFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new Error(`${what} ${path}: ${why}`);
  }
  if (!text.includes("-----BEGIN ")) throw new Error(`${what} ${path}: not a PEM file (no -----BEGIN line)`);
  return text;
}
