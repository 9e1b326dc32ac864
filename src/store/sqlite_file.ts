/**
 * Housekeeping of an SQLite store file shared by the store, its backup and
 * the tools that read a damaged file: one transaction, the page check, and
 * deleting a file with its WAL.
 *
 * @module
 */
import { rmSync } from "node:fs";
import type { Database } from "../runtime/sqlite.ts";

/** Runs `body` in one write transaction; rolls back and rethrows if it throws. */
export function transaction(db: Database, body: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    body();
    db.exec("COMMIT");
  } catch (e) {
    rollback(db);
    throw e;
  }
}

/**
 * Rolls back after a failed statement. SQLite has often rolled back already
 * (a failed COMMIT on a full disk does), so a "no transaction" error here is
 * expected and must not hide the original one.
 */
function rollback(db: Database): void {
  try {
    db.exec("ROLLBACK");
  } catch {
    // nothing was open
  }
}

/** SQLite's `quick_check` complaints, at most `max`; empty when the pages are consistent. */
export function pageProblems(db: Database, max: number): string[] {
  const lines = db.prepare(`PRAGMA quick_check(${max})`).all().map((r) => String(Object.values(r)[0]));
  return lines.length === 1 && lines[0] === "ok" ? [] : lines;
}

/** Deletes a store file with its WAL and shared-memory files. */
export function removeStore(path: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });
}
