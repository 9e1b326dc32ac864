/**
 * Files of JSON lines kept by the driver's flight recorder (`runs_dir`):
 * append a line, read the lines back, rewrite a file with fewer lines. The
 * directory is made on first use. Errors are thrown with the path in them.
 *
 * @module
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The path of `name` in `dir`. */
export function fileIn(dir: string, name: string): string {
  return join(dir, name);
}

export function appendLine(path: string, dir: string, line: string): void {
  mkdirSync(dir, { recursive: true });
  appendFileSync(path, line + "\n");
}

/** The file's lines (none when it does not exist). */
export function readLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
}

/** Replaces the file with these lines (through a temporary file, so a reader never sees half of it). */
export function rewriteLines(path: string, lines: readonly string[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, lines.map((l) => l + "\n").join(""));
  renameSync(tmp, path);
}

/** Names of the files in `dir` ending in `suffix` (none when it does not exist). */
export function filesEndingIn(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith(suffix)).sort();
}
