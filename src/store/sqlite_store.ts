/**
 * Background jobs in an SQLite file: WAL, `synchronous=FULL` unless asked
 * otherwise, one transaction per group commit. The server acknowledges a
 * job only after `commit` returned, so an acknowledged job is on disk.
 *
 * @module
 */
import { type Database, openDatabase, type SqlValue } from "../runtime/sqlite.ts";
import type { Priority } from "../core/job.ts";
import { type JobStore, type StoreBatch, type StoredJob, StoreError } from "./job_store.ts";
import { APPLICATION_ID, MIGRATIONS } from "./migrations.ts";
import { dataChecksum, freshMetaChecksum, metaChecksum, type RowState } from "./row_checksum.ts";

export interface SqliteStoreOptions {
  /** `NORMAL` is faster but an acknowledged job can be lost on power failure. */
  synchronous?: "FULL" | "NORMAL";
}

export class SqliteStore implements JobStore {
  readonly url: string;
  readonly #path: string;
  readonly #options: SqliteStoreOptions;
  #db: Database | undefined;
  #insertFresh: ReturnType<Database["prepare"]> | undefined;
  /** One statement for {@link INSERT_CHUNK} rows: a call per row costs more than the row. */
  #insertFreshMany: ReturnType<Database["prepare"]> | undefined;
  #insertFull: ReturnType<Database["prepare"]> | undefined;
  #delete: ReturnType<Database["prepare"]> | undefined;
  #update: ReturnType<Database["prepare"]> | undefined;
  #payload: ReturnType<Database["prepare"]> | undefined;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.#path = path;
    this.#options = options;
    this.url = `sqlite:${path}`;
  }

  open(): Promise<Iterable<StoredJob>> {
    try {
      const db = openDatabase(this.#path);
      this.#db = db;
      const appId = Number(db.prepare("PRAGMA application_id").get()?.application_id ?? 0);
      const tables = Number(db.prepare("SELECT count(*) AS n FROM sqlite_schema").get()?.n ?? 0);
      if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
        throw new StoreError("STORE_CORRUPT", `${this.#path} is not a gearbox store (application_id ${appId}, ${tables} schema objects); refusing to touch it`);
      }
      // One server per file: the exclusive lock taken by the first write
      // transaction is held until close, so a second server fails fast.
      db.exec(`PRAGMA busy_timeout=0; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=${this.#options.synchronous ?? "FULL"}; PRAGMA wal_autocheckpoint=${WAL_CHECKPOINT_PAGES};`);
      db.exec("BEGIN IMMEDIATE; COMMIT;");
      this.#check(db);
      this.#migrate(db);
      this.#insertFresh = db.prepare(`INSERT INTO job (${FRESH_COLUMNS}) VALUES (${FRESH_ROW})`);
      this.#insertFreshMany = db.prepare(`INSERT INTO job (${FRESH_COLUMNS}) VALUES ${Array(INSERT_CHUNK).fill(`(${FRESH_ROW})`).join(", ")}`);
      this.#insertFull = db.prepare(`INSERT INTO job (${FULL_COLUMNS}) VALUES (${FULL_ROW})`);
      this.#delete = db.prepare("DELETE FROM job WHERE id = ?");
      this.#update = db.prepare(
        "UPDATE job SET run_after = ?, retries = ?, failures = ?, outcome = ?, exit_status = ?, ended_at = ?, delete_after = ?, meta_crc = ? WHERE id = ?",
      );
      this.#payload = db.prepare("SELECT data, data_crc FROM job WHERE id = ?");
      // Workloads stay on disk (see `payload`), except where the coalescing key is their digest.
      const rows = db.prepare(`SELECT ${REPLAY_COLUMNS}, CASE WHEN uniq = '-' THEN data END AS data, data_crc FROM job ORDER BY id`);
      return Promise.resolve(this.#replay(rows));
    } catch (e) {
      this.#db?.close();
      this.#db = undefined;
      return Promise.reject(startError(e, this.#path));
    }
  }

  /**
   * Streams the replayed rows, so a million jobs are never all held as rows
   * at once. Rows whose checksum does not match are collected, and the replay
   * ends by refusing the file with their ids: an operator can see them all
   * at once instead of one per start.
   */
  *#replay(rows: ReturnType<Database["prepare"]>): Generator<StoredJob> {
    const damaged: number[] = [];
    try {
      for (const r of rows.iterate()) {
        const job = toJob(r);
        if (intact(job, r)) yield job;
        else damaged.push(job.id);
      }
    } catch (e) {
      throw startError(e, this.#path);
    }
    if (damaged.length > 0) {
      const ids = damaged.slice(0, 10).join(", ") + (damaged.length > 10 ? `, ... (${damaged.length} in all)` : "");
      throw startError(new StoreError("STORE_CORRUPT", `${this.#path} is damaged: job rows ${ids} fail their checksum`), this.#path);
    }
  }

  /** Refuses a file whose pages SQLite finds inconsistent, before anything is written to it. */
  #check(db: Database): void {
    const problems = db.prepare("PRAGMA quick_check(5)").all().map((r) => String(Object.values(r)[0]));
    if (problems.length === 1 && problems[0] === "ok") return;
    throw new StoreError("STORE_CORRUPT", `${this.#path} is damaged (quick_check: ${problems.join("; ")})`);
  }

  /**
   * A committed job's workload, read back by id (the core's {@link PayloadSource}).
   * A workload that fails its checksum throws: its job fails, never runs on wrong bytes.
   */
  payload(id: number): Uint8Array | undefined {
    const row = this.#payload?.get(id);
    if (row === undefined) return undefined;
    const data = row.data instanceof Uint8Array ? row.data : new Uint8Array(0); // an empty blob may read back as NULL
    if (row.data_crc !== null && row.data_crc !== undefined && Number(row.data_crc) !== dataChecksum(data)) {
      throw new StoreError("STORE_CORRUPT", `the workload of job ${id} fails its checksum (${this.#path} is damaged)`);
    }
    return data;
  }

  #migrate(db: Database): void {
    const version = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
    if (version > MIGRATIONS.length) {
      throw new StoreError("STORE_CORRUPT", `${this.#path} has schema version ${version}, newer than this gearbox (${MIGRATIONS.length})`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec("BEGIN IMMEDIATE");
      try {
        db.exec(MIGRATIONS[v]!);
        db.exec(`PRAGMA user_version=${v + 1}; PRAGMA application_id=${APPLICATION_ID};`);
        db.exec("COMMIT");
      } catch (e) {
        rollback(db);
        throw e;
      }
    }
  }

  commit(batch: StoreBatch): Promise<void> {
    const db = this.#db;
    if (!db) return Promise.reject(new StoreError("STORE_UNAVAILABLE", "store is not open"));
    try {
      db.exec("BEGIN IMMEDIATE");
      try {
        // New jobs have no retries, failures or ending: their rows bind 11 values, not 17, 32 rows a statement.
        let params: SqlValue[] = [];
        let rows = 0;
        for (const j of batch.add) {
          if (j.retries !== 0 || j.failures.length > 0 || j.ended !== undefined) {
            this.#insertFull!.run(...fullRow(j));
            continue;
          }
          pushFreshRow(params, j);
          if (++rows === INSERT_CHUNK) {
            this.#insertFreshMany!.run(...params);
            params = [];
            rows = 0;
          }
        }
        for (let k = 0; k < rows; k++) this.#insertFresh!.run(...params.slice(k * FRESH_WIDTH, (k + 1) * FRESH_WIDTH));
        for (const j of batch.update ?? []) {
          const state = rowState(j);
          this.#update!.run(state[6], ...state.slice(8), metaChecksum(state), j.id); // run_after, then retries to delete_after
        }
        for (const id of batch.remove) this.#delete!.run(id);
        db.exec("COMMIT");
      } catch (e) {
        rollback(db);
        throw e;
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(storeError(e, this.#path));
    }
  }

  close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
    return Promise.resolve();
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

function toJob(r: Record<string, SqlValue>): StoredJob {
  return {
    id: Number(r.id),
    handle: String(r.handle),
    function: String(r.function),
    unique: String(r.uniq),
    // Replay reads the workload only for "-" uniques (see `open`); an empty blob may read back as NULL.
    data: r.data instanceof Uint8Array ? r.data : r.uniq === "-" ? new Uint8Array(0) : undefined,
    reducer: String(r.reducer),
    priority: Number(r.priority) as Priority,
    runAt: Number(r.run_after),
    createdAt: Number(r.created_at),
    retries: Number(r.retries),
    failures: typeof r.failures === "string" ? parseFailures(r.failures) : [],
    ended: r.outcome === "completed" || r.outcome === "failed"
      ? { outcome: r.outcome, exitStatus: Number(r.exit_status ?? 0), at: Number(r.ended_at ?? 0), deleteAfter: Number(r.delete_after ?? 0) }
      : undefined,
  };
}

/**
 * WAL pages between automatic checkpoints (SQLite's default is 1000, about
 * 4 MB): each checkpoint copies pages into the database and syncs it inside
 * some commit, so fewer, larger ones keep submit acknowledgements steadier.
 */
const WAL_CHECKPOINT_PAGES = 10_000;

/** The columns of a {@link RowState}, in its order. */
const STATE_COLUMNS = ["id", "handle", "function", "uniq", "reducer", "priority", "run_after", "created_at", "retries", "failures", "outcome", "exit_status", "ended_at", "delete_after"];
const REPLAY_COLUMNS = `${STATE_COLUMNS.join(", ")}, meta_crc`;
/** A new job's columns; the rest keep their defaults (no retries, no failures, not ended). */
const FRESH_COLUMNS = "id, handle, function, uniq, data, reducer, priority, run_after, created_at, meta_crc, data_crc";
const FRESH_WIDTH = 11;
const FRESH_ROW = Array(FRESH_WIDTH).fill("?").join(", ");
const FULL_COLUMNS = `${FRESH_COLUMNS}, retries, failures, outcome, exit_status, ended_at, delete_after`;
const FULL_ROW = Array(17).fill("?").join(", ");
/** Rows per multi-row INSERT (11 parameters each, well under SQLite's limit). */
const INSERT_CHUNK = 32;

function pushFreshRow(params: SqlValue[], j: StoredJob): void {
  const data = j.data ?? missingWorkload(j);
  const meta = freshMetaChecksum(j.id, j.handle, j.function, j.unique, j.reducer, j.priority, j.runAt, j.createdAt);
  params.push(j.id, j.handle, j.function, j.unique, data, j.reducer, j.priority, j.runAt, j.createdAt, meta, dataChecksum(data));
}

/** A job's replayed columns as the store binds them. */
function rowState(j: StoredJob): RowState {
  const e = j.ended;
  return [j.id, j.handle, j.function, j.unique, j.reducer, j.priority, j.runAt, j.createdAt, j.retries, failuresText(j), e?.outcome ?? null, e?.exitStatus ?? null, e?.at ?? null, e?.deleteAfter ?? null];
}

/** A replayed row's {@link RowState} values, as read. */
function stateOf(r: Record<string, SqlValue>): SqlValue[] {
  return [r.id!, r.handle!, r.function!, r.uniq!, r.reducer!, r.priority!, r.run_after!, r.created_at!, r.retries!, r.failures!, r.outcome!, r.exit_status!, r.ended_at!, r.delete_after!];
}

/** Whether a replayed row matches its checksums (rows from before migration 4 have none). */
function intact(job: StoredJob, r: Record<string, SqlValue>): boolean {
  if (r.meta_crc !== null && r.meta_crc !== undefined && Number(r.meta_crc) !== metaChecksum(stateOf(r))) return false;
  if (job.data !== undefined && r.data_crc !== null && r.data_crc !== undefined && Number(r.data_crc) !== dataChecksum(job.data)) return false;
  return true;
}

const DAMAGED_ADVICE = 'Refusing to start; the file was not changed. See "A damaged store file" in the README.';

function fullRow(j: StoredJob): SqlValue[] {
  const state = rowState(j);
  const data = j.data ?? missingWorkload(j);
  return [j.id, j.handle, j.function, j.unique, data, j.reducer, j.priority, j.runAt, j.createdAt, metaChecksum(state), dataChecksum(data), ...state.slice(8)];
}

function missingWorkload(j: StoredJob): never {
  throw new StoreError("STORE_UNAVAILABLE", `job ${j.id} reached the store without its workload`);
}

function failuresText(j: StoredJob): string | null {
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

/** Maps SQLite's failures to store error codes with a sentence a person can act on. */
/** A failure to open or replay: a damaged file also says that nothing was written and where to read on. */
function startError(e: unknown, path: string): StoreError {
  const err = storeError(e, path);
  const foreign = err.message.includes("is not a gearbox store");
  if (err.code === "STORE_CORRUPT" && !foreign && !err.message.includes(DAMAGED_ADVICE)) err.message += `. ${DAMAGED_ADVICE}`;
  return err;
}

function storeError(e: unknown, path: string): StoreError {
  if (e instanceof StoreError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/SQLITE_BUSY|database is locked/i.test(message)) return new StoreError("STORE_LOCKED", `${path} is locked by another process (another gearbox serve?)`);
  if (/SQLITE_FULL|disk is full/i.test(message)) return new StoreError("STORE_FULL", `${path}: disk full`);
  if (/SQLITE_NOTADB|file is not a database/i.test(message)) return new StoreError("STORE_CORRUPT", `${path} is not a usable SQLite database (${message})`);
  if (/SQLITE_CORRUPT|malformed/i.test(message)) return new StoreError("STORE_CORRUPT", `${path} is damaged (${message})`);
  if (/unable to open|SQLITE_CANTOPEN/i.test(message)) return new StoreError("STORE_UNAVAILABLE", `${path} cannot be opened (${message})`);
  return new StoreError("STORE_UNAVAILABLE", `${path}: ${message}`);
}
