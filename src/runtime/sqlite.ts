/**
 * SQLite through `node:sqlite`, embedded in the runtime on Bun and Deno
 * alike (docs/runtime.md §3: as fast as bun:sqlite, no system library needed).
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";

export type SqlValue = null | number | bigint | string | Uint8Array;

/** A prepared statement. */
export interface Statement {
  run(...params: SqlValue[]): void;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  /** Rows one at a time, for results too big to hold at once. */
  iterate(...params: SqlValue[]): IterableIterator<Record<string, SqlValue>>;
}

/** An open database file. */
export interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}

/** `readOnly`: never write the file (the tools that read a damaged store use it). */
export function openDatabase(path: string, options: { readOnly?: boolean } = {}): Database {
  const db = new DatabaseSync(path, { readOnly: options.readOnly ?? false });
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const st = db.prepare(sql);
      return {
        run: (...p) => void st.run(...p),
        all: (...p) => st.all(...p) as Record<string, SqlValue>[],
        get: (...p) => st.get(...p) as Record<string, SqlValue> | undefined,
        iterate: (...p) => st.iterate(...p) as IterableIterator<Record<string, SqlValue>>,
      };
    },
    close: () => db.close(),
  };
}
