/**
 * Databases as an older gearbox left them, for the migration tests: the
 * schema up to a version, and job rows written in that version's layout
 * (the node, handle and function as text, as before migration 5).
 *
 * @module
 */
import { PG_MIGRATIONS } from "../../src/store/postgres_schema.ts";
import type { StoredJob } from "../../src/store/job_store.ts";
import { fullRow } from "../../src/store/job_rows.ts";
import { sqlOn } from "./postgres.ts";

/** Runs migrations 1 to `version` on an empty database, as that gearbox did. */
export async function schemaUpTo(url: string, version: number): Promise<void> {
  await sqlOn(url, "CREATE TABLE gearbox_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  for (const [v, m] of PG_MIGRATIONS.slice(0, version).entries()) {
    for (const statement of ([] as string[]).concat(m)) await sqlOn(url, statement);
    await sqlOn(url, "INSERT INTO gearbox_schema_version (version) VALUES ($1)", [v + 1]);
  }
}

/** The columns of a job row before migration 5, in `fullRow`'s order. */
const OLD_COLUMNS = "id, handle, function, uniq, data, reducer, priority, run_after, created_at, meta_crc, data_crc, " +
  "retries, failures, outcome, exit_status, ended_at, delete_after";

/** Writes `jobs` as rows of `node` in the layout before migration 5, with their checksums. */
export async function oldRows(url: string, node: string, jobs: readonly StoredJob[]): Promise<void> {
  for (const j of jobs) {
    const row = fullRow(j);
    const params = row.map((_, i) => `$${i + 2}`).join(", ");
    // sqlOn's driver takes bytes for a bytea parameter as they are.
    await sqlOn(url, `INSERT INTO gearbox_job (node, ${OLD_COLUMNS}) VALUES ($1, ${params})`, [node, ...row] as (string | number)[]);
  }
}
