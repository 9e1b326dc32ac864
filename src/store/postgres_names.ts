/**
 * Compact job rows on PostgreSQL (migration 5): a row names its node, its
 * function and its handle's prefix by number instead of by text. The
 * numbers of functions and prefixes live in `gearbox_name` (one row per
 * text ever stored, shared by the cluster: two nodes numbering the same name
 * meet its unique index and read the same number); a node's is its
 * `gearbox_node.number`; a handle is its prefix's name, `:` and the row's
 * id. A row is about a quarter smaller (337 bytes of table and index a job
 * against 460, 100-byte workloads) and PostgreSQL spends about a tenth less
 * CPU on each COPYed row: the job table's own bytes and the unique index's
 * key (function, unique) both shrink.
 *
 * The migration that rebuilds the table, and the view `gearbox_jobs` that
 * shows the rows with their texts for queries by hand, are in
 * postgres_compact.ts. Names are never deleted: a function or a boot's
 * prefix is one small row for the database's life.
 *
 * @module
 */
import type { PgArray, PgSession } from "../runtime/postgres.ts";
import type { SqlValue } from "../runtime/sqlite.ts";
import { type StoredJob, StoreError } from "./job_store.ts";
import { fullRow } from "./job_rows.ts";

/** The prefix of a stored handle (`<prefix>:<id>`): the text before its last colon ('' without one). */
export function prefixOf(handle: string): string {
  const colon = handle.lastIndexOf(":");
  return colon === -1 ? "" : handle.slice(0, colon);
}

/** A job's handle prefix: its own when it knows it, else read from its handle. */
const prefixName = (j: StoredJob) => j.prefix ?? prefixOf(j.handle);

/** {@link prefixOf} in SQL. */
export const prefixSql = (h: string) =>
  `CASE WHEN strpos(${h}, ':') = 0 THEN '' ELSE left(${h}, length(${h}) - strpos(reverse(${h}), ':')) END`;

/** A job's handle from row `j`'s prefix number and id. */
export const handleSql = (j: string) => `(SELECT p.name FROM gearbox_name p WHERE p.number = ${j}.prefix) || ':' || ${j}.id`;

type ToArray = (values: PgArray["pgArray"], type: PgArray["type"]) => PgArray;

/** Adds the names not there yet; gives the number of each (the statement's snapshot may miss one another node just added). */
const NUMBER_SQL = `WITH wanted AS (SELECT unnest($1::text[]) AS name),
    added AS (INSERT INTO gearbox_name (name) SELECT name FROM wanted ON CONFLICT (name) DO NOTHING RETURNING number, name)
  SELECT number, name FROM added UNION ALL SELECT g.number, g.name FROM gearbox_name g JOIN wanted w ON w.name = g.name`;

/**
 * The numbers of the names this node has stored or read: a commit numbers
 * the new ones first ({@link PgNames.number}), then writes rows with them.
 */
export class PgNames {
  readonly #numbers: Map<string, number>;
  /** The last function and prefix looked up: nearly every job of a burst has the same prefix (and often function). */
  readonly #lastFunction = { name: "", number: -1 };
  readonly #lastPrefix = { name: "", number: -1 };

  /** `known`: names already numbered (by another store's commit, or a test's). */
  constructor(known: Iterable<readonly [string, number]> = []) {
    this.#numbers = new Map(known);
  }

  /** The function's number; -1 when not numbered yet. */
  functionOf(j: StoredJob): number {
    return this.#lookup(j.function, this.#lastFunction);
  }

  /** The number of the handle's prefix; -1 when not numbered yet. */
  prefixOf(j: StoredJob): number {
    return this.#lookup(prefixName(j), this.#lastPrefix);
  }

  #lookup(name: string, last: { name: string; number: number }): number {
    if (name === last.name && last.number >= 0) return last.number;
    const n = this.#numbers.get(name) ?? -1;
    if (n >= 0) last.name = name, last.number = n;
    return n;
  }

  /** Whether every function and prefix of `jobs` has its number. */
  covers(jobs: readonly StoredJob[]): boolean {
    for (const j of jobs) if (this.functionOf(j) < 0 || this.prefixOf(j) < 0) return false;
    return true;
  }

  /**
   * Numbers the functions and prefixes of `jobs` not numbered yet, in a
   * statement of its own (a name row alone is harmless). A name another
   * node adds at the same moment is read by the next try.
   */
  async number(db: PgSession, jobs: readonly StoredJob[], toArray: ToArray): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const names = new Set<string>();
      for (const j of jobs) {
        if (this.functionOf(j) < 0) names.add(j.function);
        if (this.prefixOf(j) < 0) names.add(prefixName(j));
      }
      if (names.size === 0) return;
      for (const r of await db.query(NUMBER_SQL, [toArray([...names], "text")])) this.#numbers.set(String(r.name), Number(r.number));
    }
    throw new StoreError("STORE_UNAVAILABLE", "function names could not be numbered in gearbox_name; try again");
  }
}

/**
 * {@link fullRow} as the PostgreSQL row: the handle as its prefix's number,
 * the function as its number (the names numbered before: {@link PgNames.number}).
 */
export function pgFullRow(j: StoredJob, names: PgNames): SqlValue[] {
  const row = fullRow(j);
  row[1] = numbered(names.prefixOf(j), j);
  row[2] = numbered(names.functionOf(j), j);
  return row;
}

export function numbered(n: number, j: StoredJob): number {
  if (n < 0) throw new StoreError("STORE_UNAVAILABLE", `job ${j.id} reached the store before its names were numbered`);
  return n;
}
