/**
 * The two shapes in which new jobs reach `gearbox_job` by binary COPY:
 * every column (a replacement with retries, a job with a reducer or a
 * future run time), or, for the usual new job, only the columns whose value
 * is not the table's default. PostgreSQL parses each field it is sent; the
 * eight left out (reducer, run_after, retries and five NULLs) took about a
 * fifth of its time per 1,000-row COPY (19.5 against 15 ms, measured by a
 * server-side COPY of the same rows). The rows stored are the same.
 *
 * @module
 */
import type { SqlValue } from "../runtime/sqlite.ts";
import type { StoredJob } from "./job_store.ts";
import { freshRow, fullRow } from "./job_rows.ts";
import type { CopyType } from "./postgres_copy.ts";
import { ADD_COLUMNS } from "./postgres_uniques.ts";

/** A COPY statement, its columns' types (the node first) and the values of a job's row after the node. */
export interface CopyShape {
  readonly sql: string;
  readonly types: readonly CopyType[];
  readonly row: (j: StoredJob) => SqlValue[];
  /** Whether a job's row can be sent in this shape. */
  readonly fits: (j: StoredJob) => boolean;
}

/** New rows encoded for a COPY, and its statement. */
export interface EncodedCopy {
  sql: string;
  data: Uint8Array;
}

/** The columns of {@link freshRow}, in its order. */
const FRESH_COLUMNS = ["id", "handle", "function", "uniq", "data", "priority", "created_at", "meta_crc", "data_crc"] as const;

function shape(columns: readonly (readonly [string, string])[], row: CopyShape["row"], fits: CopyShape["fits"]): CopyShape {
  return {
    sql: `COPY gearbox_job (node, ${columns.map(([c]) => c).join(", ")}) FROM STDIN (FORMAT binary)`,
    types: ["text", ...columns.map(([, t]) => t as CopyType)],
    row,
    fits,
  };
}

/** Every column: any job. */
export const FULL_COPY: CopyShape = shape(ADD_COLUMNS, fullRow, () => true);

/** A new job with no reducer, run time, retries, failures or ending: the rest are the table's defaults. */
export const FRESH_COPY: CopyShape = shape(
  FRESH_COLUMNS.map((c) => ADD_COLUMNS.find(([name]) => name === c)!),
  freshRow,
  (j) => j.reducer === "" && j.runAt === 0 && j.retries === 0 && j.failures.length === 0 && j.ended === undefined,
);

/** The leaner shape when every job fits it. */
export function shapeOf(jobs: readonly StoredJob[]): CopyShape {
  return jobs.every(FRESH_COPY.fits) ? FRESH_COPY : FULL_COPY;
}
