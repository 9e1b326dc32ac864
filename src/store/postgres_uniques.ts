/**
 * Cluster-wide uniques on the PostgreSQL store (docs/cluster.md §7): two
 * partial unique indexes (migration 3) over live rows, so no two live rows
 * of the cluster share a function and unique, and the commit's statements
 * that meet them without failing the batch.
 *
 * A unique other than `-` is keyed by the function and unique as they are
 * (`gearbox_job_live_unique`): a B-tree over the two text columns costs
 * PostgreSQL about 2 µs a row where an md5 expression of them cost 6. Its
 * entries are bounded by `max_function_name` and `max_unique` (a B-tree
 * entry is limited to about 2.7 kB): the server refuses settings whose
 * longest pair would not fit ({@link MAX_KEY_BYTES}). A `-` unique is keyed
 * by the workload (job.ts `uniqueKeyOf`): the function and the workload's
 * sha256 (`gearbox_job_live_digest`).
 *
 * New rows with a unique go in with `INSERT ... ON CONFLICT DO NOTHING`; for
 * each one not inserted, the live row holding its key is read back in the
 * same transaction and its handle reported (the submitters get it). An
 * update that makes an ended row live again (`job retry`) is applied only
 * when no live row holds its key; otherwise it is left ended and the live
 * row's handle reported. A live row that ends between the statement and the
 * read-back frees its key: the row is tried again.
 *
 * @module
 */
import type { PgArray, PgCopySession, PgSession, PgValue } from "../runtime/postgres.ts";
import type { SqlValue } from "../runtime/sqlite.ts";
import type { StoredJob } from "./job_store.ts";
import { updateRow } from "./job_rows.ts";
import { handleSql, pgFullRow, type PgNames } from "./postgres_names.ts";
import { StoreError } from "./job_store.ts";

/**
 * The most UTF-8 bytes a function name and a unique may take together, so
 * that an index entry fits a B-tree page's limit (2,704 bytes) with room for
 * its header, a digest and the two lengths.
 */
export const MAX_KEY_BYTES = 2600;

/** Live rows the indexes hold (`l` a table alias, or "" for the index itself). */
function live(l: string): string {
  const c = (name: string) => (l === "" ? name : `${l}.${name}`);
  return `${c("outcome")} IS NULL AND NOT ${c("uniq_twin")}`;
}

/** The live row `l` holding the key of row `a`, in the words of the index that holds it (so the planner uses it). */
function liveTwin(a: string): [plain: string, digest: string] {
  return [
    `${a}.uniq <> '-' AND l.function = ${a}.function AND l.uniq = ${a}.uniq AND l.uniq <> '' AND l.uniq <> '-' AND ${live("l")}`,
    `${a}.uniq = '-' AND l.function = ${a}.function AND sha256(l.data) = sha256(${a}.data) AND l.uniq = '-' AND ${live("l")}`,
  ];
}

/** Whether a live row holds the key of row `a`. */
const twinExists = (a: string) => liveTwin(a).map((w) => `EXISTS (SELECT 1 FROM gearbox_job l WHERE ${w})`).join(" OR ");
/** The handle of the live row holding the key of row `a`, or NULL. */
const twinHandle = (a: string) =>
  `COALESCE(${liveTwin(a).map((w) => `(SELECT ${handleSql("l")} FROM gearbox_job l WHERE ${w} LIMIT 1)`).join(", ")})`;

/** The index of live rows' plain uniques (migration 3; made again by migration 5 on the rebuilt table). */
export const LIVE_UNIQUE_INDEX = `CREATE UNIQUE INDEX gearbox_job_live_unique ON gearbox_job (function, uniq)
  WHERE uniq <> '' AND uniq <> '-' AND ${live("")}`;
/** The index of live rows' `-` uniques, keyed by the workload's digest. */
export const LIVE_DIGEST_INDEX = `CREATE UNIQUE INDEX gearbox_job_live_digest ON gearbox_job (function, sha256(data))
  WHERE uniq = '-' AND ${live("")}`;

/**
 * Migration 3. Twins an older database already holds (live rows of one key,
 * which two nodes could each commit before) are kept, as they were going to
 * run anyway: all but the oldest are marked `uniq_twin`, which the indexes
 * skip, and a twin that ends is unmarked (a retry of it then meets the index).
 */
export const UNIQUE_MIGRATION: readonly string[] = [
  "ALTER TABLE gearbox_job ADD COLUMN uniq_twin boolean NOT NULL DEFAULT false",
  `UPDATE gearbox_job j SET uniq_twin = true FROM (
     SELECT node, id, row_number() OVER (
       PARTITION BY function, uniq, CASE WHEN uniq = '-' THEN sha256(data) END ORDER BY created_at, id
     ) AS n
     FROM gearbox_job WHERE uniq <> '' AND outcome IS NULL
   ) t WHERE t.n > 1 AND j.node = t.node AND j.id = t.id`,
  LIVE_UNIQUE_INDEX,
  LIVE_DIGEST_INDEX,
];

/**
 * The columns of an added row, in {@link fullRow}'s order (the handle as its
 * prefix's number, the function as its number: postgres_names.ts), with
 * their array element types.
 */
export const ADD_COLUMNS = [
  ["id", "bigint"],
  ["prefix", "integer"],
  ["function", "integer"],
  ["uniq", "text"],
  ["data", "bytea"],
  ["reducer", "text"],
  ["priority", "smallint"],
  ["run_after", "bigint"],
  ["created_at", "bigint"],
  ["meta_crc", "bigint"],
  ["data_crc", "bigint"],
  ["retries", "integer"],
  ["failures", "text"],
  ["outcome", "text"],
  ["exit_status", "integer"],
  ["ended_at", "bigint"],
  ["delete_after", "bigint"],
] as const;

/** {@link updateRow}'s values, in its order (each typed as in {@link ADD_COLUMNS}). */
export const UPDATE_COLUMNS = (
  ["run_after", "retries", "failures", "outcome", "exit_status", "ended_at", "delete_after", "meta_crc", "id"] as const
).map((name) => ADD_COLUMNS.find(([c]) => c === name)!);

const unnestOf = (cols: readonly (readonly [string, string])[], from: number) =>
  `unnest(${cols.map(([, t], i) => `$${i + from}::${t}[]`).join(", ")}) AS u(${cols.map(([c]) => c).join(", ")})`;
const SET = `${UPDATE_COLUMNS.slice(0, -1).map(([c]) => `${c} = u.${c}`).join(", ")}, uniq_twin = j.uniq_twin AND u.outcome IS NULL`;

/** Updates, except those that would make an ended row with a unique live again (those go through {@link revive}). */
export const UPDATE_SQL = `UPDATE gearbox_job j SET ${SET} FROM ${unnestOf(UPDATE_COLUMNS, 2)}
  WHERE j.node = $1 AND j.id = u.id AND NOT (j.outcome IS NOT NULL AND u.outcome IS NULL AND j.uniq <> '')`;
/** Ended rows made live again, unless a live row holds their key. */
const REVIVE_SQL = `UPDATE gearbox_job j SET ${SET} FROM ${unnestOf(UPDATE_COLUMNS, 2)}
  WHERE j.node = $1 AND j.id = u.id AND j.outcome IS NOT NULL AND u.outcome IS NULL AND j.uniq <> ''
    AND NOT (${twinExists("j")})`;
/** This node's rows still ended, each with the handle of the live row holding its key (null: none now). */
const REFUSED_SQL = `SELECT j.id, ${twinHandle("j")} AS handle
  FROM gearbox_job j WHERE j.node = $1 AND j.id = ANY($2::bigint[]) AND j.outcome IS NOT NULL`;
const INSERT_SQL = `INSERT INTO gearbox_job (node, ${ADD_COLUMNS.map(([c]) => c).join(", ")})
  SELECT $1, * FROM ${unnestOf(ADD_COLUMNS, 2)} ON CONFLICT DO NOTHING RETURNING id`;
/** The live rows holding the keys of rows not inserted (`data` only for a `-` unique's key). */
const HOLDERS_SQL = liveTwin("u").map((w) =>
  `SELECT u.id, ${handleSql("l")} AS handle FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::bytea[]) AS u(id, function, uniq, data)
  JOIN gearbox_job l ON ${w}`
).join(" UNION ALL ");

/** How often a row whose twin ended meanwhile is tried again before the commit gives up. */
const ATTEMPTS = 8;
type ToArray = (values: PgArray["pgArray"], type: PgArray["type"]) => PgArray;

/**
 * Whether the job's row, as written, is one the indexes hold: live, with a
 * unique. A new one goes through {@link insertUnique} when its COPY met the
 * index; an update that is one (a `job retry` making an ended row live
 * again) goes through {@link revive}.
 */
export function meetsIndex(j: StoredJob): boolean {
  return j.unique !== "" && j.ended === undefined;
}

/** Inserts new live rows with a unique; gives, for each not inserted, the handle of the live row holding its key. */
export async function insertUnique(
  tx: PgSession,
  node: number,
  jobs: readonly StoredJob[],
  pgArray: ToArray,
  names: PgNames,
): Promise<Map<number, string>> {
  const held = new Map<number, string>();
  let left = jobs;
  for (let attempt = 0; left.length > 0; attempt++) {
    if (attempt === ATTEMPTS) throw unsettled(left.length);
    const cols = columns(left.map((j) => pgFullRow(j, names)), ADD_COLUMNS.length);
    const inserted = new Set(
      (await tx.query(INSERT_SQL, [node, ...cols.map((c, i) => pgArray(c, ADD_COLUMNS[i]![1]))])).map((r) => Number(r.id)),
    );
    const rest = left.filter((j) => !inserted.has(j.id));
    if (rest.length === 0) break;
    const params: PgValue[] = [
      pgArray(rest.map((j) => j.id), "bigint"),
      pgArray(rest.map((j) => names.functionOf(j)), "integer"),
      pgArray(rest.map((j) => j.unique), "text"),
      pgArray(rest.map((j) => (j.unique === "-" ? j.data! : EMPTY)), "bytea"),
    ];
    for (const r of await tx.query(HOLDERS_SQL, params)) held.set(Number(r.id), String(r.handle));
    left = rest.filter((j) => !held.has(j.id)); // their twin ended meanwhile: insert them again
  }
  return held;
}

/**
 * Applies the updates that make ended rows live again unless a live row
 * holds their key; gives, for each left ended, that row's handle. A
 * concurrent commit of the same key makes the statement fail (unique
 * violation): it is undone to a savepoint and run again, which then sees
 * that row.
 */
export async function revive(tx: PgSession, node: number, jobs: readonly StoredJob[], pgArray: ToArray): Promise<Map<number, string>> {
  const refused = new Map<number, string>();
  let left = jobs;
  for (let attempt = 0; left.length > 0; attempt++) {
    if (attempt === ATTEMPTS) throw unsettled(left.length);
    const cols = columns(left.map(updateRow), UPDATE_COLUMNS.length);
    await tx.query("SAVEPOINT gearbox_revive");
    try {
      await tx.query(REVIVE_SQL, [node, ...cols.map((c, i) => pgArray(c, UPDATE_COLUMNS[i]![1]))]);
      await tx.query("RELEASE SAVEPOINT gearbox_revive");
    } catch (e) {
      if ((e as { code?: unknown }).code !== "23505") throw e;
      await tx.query("ROLLBACK TO SAVEPOINT gearbox_revive");
      continue;
    }
    const again = new Set<number>();
    for (const r of await tx.query(REFUSED_SQL, [node, pgArray(left.map((j) => j.id), "bigint")])) {
      if (r.handle === null) again.add(Number(r.id)); // its twin ended between the two statements
      else refused.set(Number(r.id), String(r.handle));
    }
    left = left.filter((j) => again.has(j.id));
  }
  return refused;
}

const EMPTY = new Uint8Array(0);

function unsettled(n: number): StoreError {
  return new StoreError("STORE_UNAVAILABLE", `${n} jobs with a unique met a live twin that kept ending; try again`);
}

/** Rows of values as one array per column (what `unnest` takes). */
export function columns(rows: SqlValue[][], width: number): (number | string | Uint8Array | null)[][] {
  const out: (number | string | Uint8Array | null)[][] = Array.from({ length: width }, () => new Array(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < width; c++) {
      const v = row[c];
      out[c]![r] = typeof v === "bigint" ? Number(v) : v ?? null;
    }
  }
  return out;
}

/** Whether a failed statement met the unique index of live rows (postgres_uniques.ts). */
export function metIndex(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === "23505";
}

/**
 * COPYs every new row in `tx`: true when all went in; false when one met the
 * unique index, the COPY undone to a savepoint (only taken when a row has a
 * unique: without one, no row can meet the index).
 */
export async function copiedWhole(tx: PgCopySession, copySql: string, copy: Uint8Array, unique: boolean): Promise<boolean> {
  if (!unique) {
    await tx.copyIn(copySql, copy);
    return true;
  }
  await tx.query("SAVEPOINT gearbox_copy");
  try {
    await tx.copyIn(copySql, copy);
  } catch (e) {
    if (!metIndex(e)) throw e;
    await tx.query("ROLLBACK TO SAVEPOINT gearbox_copy");
    return false;
  }
  await tx.query("RELEASE SAVEPOINT gearbox_copy");
  return true;
}
