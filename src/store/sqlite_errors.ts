/**
 * SQLite's failures as store errors with a sentence a person can act on.
 *
 * @module
 */
import { StoreError } from "./job_store.ts";

/** What a refused, damaged store file's message ends with. */
export const DAMAGED_ADVICE = 'Refusing to start; the file was not changed. See "A damaged store file" in the README.';

/** A failure to open or replay: a damaged file also says that nothing was written and where to read on. */
export function startError(e: unknown, path: string): StoreError {
  const err = storeError(e, path);
  const foreign = err.message.includes("is not a gearbox store");
  if (err.code === "STORE_CORRUPT" && !foreign && !err.message.includes(DAMAGED_ADVICE)) err.message += `. ${DAMAGED_ADVICE}`;
  return err;
}

/** Maps SQLite's failures to store error codes with a sentence a person can act on. */
export function storeError(e: unknown, path: string): StoreError {
  if (e instanceof StoreError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/SQLITE_BUSY|database is locked/i.test(message)) {
    return new StoreError("STORE_LOCKED", `${path} is locked by another process (another gearbox serve?)`);
  }
  if (/SQLITE_FULL|disk is full/i.test(message)) return new StoreError("STORE_FULL", `${path}: disk full`);
  if (/SQLITE_NOTADB|file is not a database/i.test(message)) {
    return new StoreError("STORE_CORRUPT", `${path} is not a usable SQLite database (${message})`);
  }
  if (/SQLITE_CORRUPT|malformed/i.test(message)) return new StoreError("STORE_CORRUPT", `${path} is damaged (${message})`);
  if (/unable to open|SQLITE_CANTOPEN/i.test(message)) return new StoreError("STORE_UNAVAILABLE", `${path} cannot be opened (${message})`);
  return new StoreError("STORE_UNAVAILABLE", `${path}: ${message}`);
}
