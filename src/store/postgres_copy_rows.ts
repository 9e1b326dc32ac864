/**
 * The binary COPY by which new jobs reach `gearbox_job`: every column the
 * store writes, in {@link pgFullRow}'s order, after the node. Leaving the
 * columns that hold their defaults out (reducer, run_after, retries and
 * five NULLs) was tried and costs PostgreSQL more, not less: 10.7 to 11.5
 * µs of its CPU a row against 9.7 to 9.8 with every column, for the same
 * 100,000 rows in commits of 1,000 through the store alone. It evaluates a
 * default for each column left out, on every row.
 *
 * @module
 */
import type { StoredJob } from "./job_store.ts";
import { numbered, pgFullRow, type PgNames } from "./postgres_names.ts";
import { type CopyEncoder, type CopyType, type CopyWriter, rowBound } from "./postgres_copy.ts";
import { ADD_COLUMNS } from "./postgres_uniques.ts";
import { dataChecksum, freshMetaChecksum } from "./row_checksum.ts";

/** New rows encoded for a COPY, and its statement. */
export interface EncodedCopy {
  sql: string;
  data: Uint8Array;
}

/** The COPY statement of new rows. */
export const NEW_ROWS_SQL = `COPY gearbox_job (node, ${ADD_COLUMNS.map(([c]) => c).join(", ")}) FROM STDIN (FORMAT binary)`;

/** Its columns' types, the node (its number) first. */
const NEW_ROW_TYPES: readonly CopyType[] = ["integer", ...ADD_COLUMNS.map(([, t]) => t as CopyType)];
/** Bytes a fresh row takes besides its text and workload: the field count, 18 lengths, the numbers. */
const FRESH_FIXED = 2 + NEW_ROW_TYPES.length * 4 + 4 + 8 + 4 + 4 + 2 + 8 + 8 + 8 + 8 + 4;

/**
 * `jobs` as rows of the COPY (the header when `opens`, the trailer when
 * `closes`), written field by field: the same bytes as encoding
 * {@link pgFullRow}'s values, without an array per row. A job with retries,
 * failures or an ending (a replacement, a revival) goes the general way.
 */
export function encodeNewRows(
  enc: CopyEncoder,
  jobs: readonly StoredJob[],
  node: number,
  names: PgNames,
  opens: boolean,
  closes: boolean,
): Uint8Array {
  return enc.rows(opens, closes, (w) => {
    for (const j of jobs) {
      const data = j.data;
      if (j.retries !== 0 || j.ended !== undefined || j.failures.length > 0 || data === undefined) generalRow(w, j, node, names);
      else freshRow(w, j, data, node, names);
    }
  });
}

function freshRow(w: CopyWriter, j: StoredJob, data: Uint8Array, node: number, names: PgNames): void {
  const handle = j.handle; // built on every read
  const fn = j.function, unique = j.unique, reducer = j.reducer, priority = j.priority, runAt = j.runAt, createdAt = j.createdAt;
  const meta = freshMetaChecksum(j.id, handle, fn, unique, reducer, priority, runAt, createdAt);
  w.ensure(FRESH_FIXED + 3 * (unique.length + reducer.length) + data.byteLength);
  w.fields(NEW_ROW_TYPES.length);
  w.int32(node);
  w.int64(j.id);
  w.int32(numbered(names.prefixOf(j), j));
  w.int32(numbered(names.functionOf(j), j));
  w.text(unique);
  w.bytes(data);
  w.text(reducer);
  w.int16(priority);
  w.int64(runAt);
  w.int64(createdAt);
  w.int64(meta);
  w.int64(dataChecksum(data));
  w.int32(0); // retries
  for (let i = 0; i < 5; i++) w.nul(); // failures, outcome, exit_status, ended_at, delete_after
}

function generalRow(w: CopyWriter, j: StoredJob, node: number, names: PgNames): void {
  const values = pgFullRow(j, names); // throws for a job without its workload
  w.ensure(rowBound(NEW_ROW_TYPES, values, node));
  w.row(NEW_ROW_TYPES, values, node);
}
