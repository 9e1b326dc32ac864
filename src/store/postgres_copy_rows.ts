/**
 * The binary COPY by which new jobs reach `gearbox_job`: every column the
 * store writes, in {@link fullRow}'s order, after the node. Leaving the
 * columns that hold their defaults out (reducer, run_after, retries and
 * five NULLs) was tried and costs PostgreSQL more, not less: 10.7 to 11.5
 * µs of its CPU a row against 9.7 to 9.8 with every column, for the same
 * 100,000 rows in commits of 1,000 through the store alone. It evaluates a
 * default for each column left out, on every row.
 *
 * @module
 */
import type { SqlValue } from "../runtime/sqlite.ts";
import type { StoredJob } from "./job_store.ts";
import { fullRow } from "./job_rows.ts";
import type { CopyType } from "./postgres_copy.ts";
import { ADD_COLUMNS } from "./postgres_uniques.ts";

/** New rows encoded for a COPY, and its statement. */
export interface EncodedCopy {
  sql: string;
  data: Uint8Array;
}

/** The COPY statement of new rows. */
export const NEW_ROWS_SQL = `COPY gearbox_job (node, ${ADD_COLUMNS.map(([c]) => c).join(", ")}) FROM STDIN (FORMAT binary)`;

/** Its columns' types, the node first. */
export const NEW_ROW_TYPES: readonly CopyType[] = ["text", ...ADD_COLUMNS.map(([, t]) => t as CopyType)];

/** A job's values after the node. */
export const newRow: (j: StoredJob) => SqlValue[] = fullRow;
