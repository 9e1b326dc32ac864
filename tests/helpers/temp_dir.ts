/**
 * Temporary directories of one test file, removed when its tests are done.
 * Call `tempDirs()` once at the top level of a test file: it registers the
 * file's `after` hook and returns the function that makes a directory.
 *
 * @example
 * ```ts
 * const tempDir = tempDirs();
 * const db = join(tempDir("gearbox-durable-"), "jobs.db");
 * ```
 */
import { after } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDirs(): (prefix: string) => string {
  const made: string[] = [];
  after(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
