/**
 * How a job maps to a row of the SQLite job table and back, with the row's
 * checksums (row_checksum.ts): shared by the store and by the tools that read
 * a damaged file (store_salvage.ts).
 *
 * @module
 */
import type { SqlValue } from "../runtime/sqlite.ts";
import type { Priority } from "../core/job.ts";
import { type StoredJob, StoreError } from "./job_store.ts";
import { dataChecksum, freshMetaChecksum, metaChecksum, type RowState } from "./row_checksum.ts";

/** A workload column as read: an empty blob may read back as NULL. */
export function workloadOf(value: SqlValue | undefined): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(0);
}

/** A read row as a job (its workload only where the row carried one). */
export function toJob(r: Record<string, SqlValue>): StoredJob {
  return {
    id: Number(r.id),
    handle: String(r.handle),
    function: String(r.function),
    unique: String(r.uniq),
    // Replay reads the workload only for "-" uniques (see `open`); an empty blob may read back as NULL.
    data: r.data instanceof Uint8Array || r.uniq === "-" ? workloadOf(r.data) : undefined,
    reducer: String(r.reducer),
    priority: Number(r.priority) as Priority,
    runAt: Number(r.run_after),
    createdAt: Number(r.created_at),
    retries: Number(r.retries),
    failures: typeof r.failures === "string" ? parseFailures(r.failures) : [],
    ended: r.outcome === "completed" || r.outcome === "failed"
      ? {
        outcome: r.outcome,
        exitStatus: Number(r.exit_status ?? 0),
        at: Number(r.ended_at ?? 0),
        deleteAfter: Number(r.delete_after ?? 0),
      }
      : undefined,
  };
}

/** The columns of a {@link RowState}, in its order. */
export const STATE_COLUMNS = [
  "id",
  "handle",
  "function",
  "uniq",
  "reducer",
  "priority",
  "run_after",
  "created_at",
  "retries",
  "failures",
  "outcome",
  "exit_status",
  "ended_at",
  "delete_after",
];
export const REPLAY_COLUMNS = `${STATE_COLUMNS.join(", ")}, meta_crc`;
/** A new job's columns; the rest keep their defaults (no retries, no failures, not ended). */
export const FRESH_COLUMNS = "id, handle, function, uniq, data, reducer, priority, run_after, created_at, meta_crc, data_crc";
export const FRESH_WIDTH = 11;
export const FRESH_ROW = Array(FRESH_WIDTH).fill("?").join(", ");
export const FULL_COLUMNS = `${FRESH_COLUMNS}, retries, failures, outcome, exit_status, ended_at, delete_after`;
export const FULL_ROW = Array(17).fill("?").join(", ");
/** Rows per multi-row INSERT (11 parameters each, well under SQLite's limit). */
export const INSERT_CHUNK = 32;

/** Appends a new job's {@link FRESH_COLUMNS} values. */
export function pushFreshRow(params: SqlValue[], j: StoredJob): void {
  const data = j.data ?? missingWorkload(j);
  const meta = freshMetaChecksum(j.id, j.handle, j.function, j.unique, j.reducer, j.priority, j.runAt, j.createdAt);
  params.push(j.id, j.handle, j.function, j.unique, data, j.reducer, j.priority, j.runAt, j.createdAt, meta, dataChecksum(data));
}

/** A job's replayed columns as the store binds them. */
export function rowState(j: StoredJob): RowState {
  const e = j.ended;
  return [
    j.id,
    j.handle,
    j.function,
    j.unique,
    j.reducer,
    j.priority,
    j.runAt,
    j.createdAt,
    j.retries,
    failuresText(j),
    e?.outcome ?? null,
    e?.exitStatus ?? null,
    e?.at ?? null,
    e?.deleteAfter ?? null,
  ];
}

/** A changed job's mutable columns (retries, failures, ending) and its new checksum. */
export const UPDATE_SQL =
  "UPDATE job SET run_after = ?, retries = ?, failures = ?, outcome = ?, exit_status = ?, ended_at = ?, delete_after = ?, meta_crc = ? WHERE id = ?";

/** The values of {@link UPDATE_SQL} for a job. */
export function updateRow(j: StoredJob): SqlValue[] {
  const state = rowState(j);
  return [state[6], ...state.slice(8), metaChecksum(state), j.id]; // run_after, then retries to delete_after
}

/** A replayed row's {@link RowState} values, as read. */
export function stateOf(r: Record<string, SqlValue>): SqlValue[] {
  return [
    r.id!,
    r.handle!,
    r.function!,
    r.uniq!,
    r.reducer!,
    r.priority!,
    r.run_after!,
    r.created_at!,
    r.retries!,
    r.failures!,
    r.outcome!,
    r.exit_status!,
    r.ended_at!,
    r.delete_after!,
  ];
}

/** Whether a read row's replayed columns match their checksum (rows from before migration 4 have none). */
export function metaIntact(r: Record<string, SqlValue>): boolean {
  return r.meta_crc === null || r.meta_crc === undefined || Number(r.meta_crc) === metaChecksum(stateOf(r));
}

/** Whether a workload read with its row matches its checksum (none before migration 4). */
export function dataIntact(data: Uint8Array, crc: SqlValue | undefined): boolean {
  return crc === null || crc === undefined || Number(crc) === dataChecksum(data);
}

/** A row with every column (PostgreSQL's COPY of new jobs; a replacement, a restore). */
export function fullRow(j: StoredJob): SqlValue[] {
  if (j.retries === 0 && j.ended === undefined && j.failures.length === 0) return freshFullRow(j);
  const s = rowState(j); // each getter once: a handle is built on every read
  const data = j.data ?? missingWorkload(j);
  return [
    s[0],
    s[1],
    s[2],
    s[3],
    data,
    s[4],
    s[5],
    s[6],
    s[7],
    metaChecksum(s),
    dataChecksum(data),
    s[8],
    s[9],
    s[10],
    s[11],
    s[12],
    s[13],
  ];
}

/** {@link fullRow} of a job with no retries, failures or ending (most): no {@link RowState} built, each getter read once. */
function freshFullRow(j: StoredJob): SqlValue[] {
  const data = j.data ?? missingWorkload(j);
  const handle = j.handle; // built on every read
  const fn = j.function, unique = j.unique, reducer = j.reducer, priority = j.priority, runAt = j.runAt, createdAt = j.createdAt;
  const meta = freshMetaChecksum(j.id, handle, fn, unique, reducer, priority, runAt, createdAt);
  return [j.id, handle, fn, unique, data, reducer, priority, runAt, createdAt, meta, dataChecksum(data), 0, null, null, null, null, null];
}

function missingWorkload(j: StoredJob): never {
  throw new StoreError("STORE_UNAVAILABLE", `job ${j.id} reached the store without its workload`);
}

export function failuresText(j: StoredJob): string | null {
  return j.failures.length === 0 ? null : JSON.stringify(j.failures);
}

/** A failure log that does not parse is kept as one entry saying so, never a reason to refuse the job. */
function parseFailures(text: string): StoredJob["failures"] {
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v)) return v.map((f) => ({ at: Number(f?.at ?? 0), message: String(f?.message ?? "") }));
  } catch {
    // fall through
  }
  return [{ at: 0, message: "(unreadable failure log in the store)" }];
}
