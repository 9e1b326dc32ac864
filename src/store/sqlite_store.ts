/**
 * Background jobs in an SQLite file: WAL, `synchronous=FULL` unless asked
 * otherwise, one transaction per group commit. The server acknowledges a
 * job only after `commit` returned, so an acknowledged job is on disk.
 *
 * @module
 */
import { type Database, openDatabase, type SqlValue } from "../runtime/sqlite.ts";
import { existsSync, renameSync } from "node:fs";
import { type BackupResult, type JobStore, type ScheduleRow, type StoreBatch, type StoredJob, StoreError } from "./job_store.ts";
import { type ChangeLog, copyRunningStore } from "./sqlite_backup.ts";
import {
  dataIntact,
  FRESH_COLUMNS,
  FRESH_ROW,
  FRESH_WIDTH,
  FULL_COLUMNS,
  FULL_ROW,
  fullRow,
  INSERT_CHUNK,
  metaIntact,
  pushFreshRow,
  REPLAY_COLUMNS,
  toJob,
  UPDATE_SQL,
  updateRow,
  workloadOf,
} from "./job_rows.ts";
import { pageProblems, removeStore, transaction } from "./sqlite_file.ts";
import { APPLICATION_ID, MIGRATIONS } from "./migrations.ts";
import { startError, storeError } from "./sqlite_errors.ts";

export interface SqliteStoreOptions {
  /** `NORMAL` is faster but an acknowledged job can be lost on power failure. */
  synchronous?: "FULL" | "NORMAL";
}

export class SqliteStore implements JobStore {
  readonly url: string;
  readonly payloadsOutOfMemory = true;
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
  /** Set while a backup runs: what commits change, for the copy to catch up with. */
  #changes: ChangeLog | undefined;
  /** The file did not exist before `open`. */
  #created = false;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.#path = path;
    this.#options = options;
    this.url = `sqlite:${path}`;
  }

  open(): Promise<Iterable<StoredJob>> {
    try {
      this.#created = !existsSync(this.#path);
      const db = openDatabase(this.#path);
      this.#db = db;
      const appId = Number(db.prepare("PRAGMA application_id").get()?.application_id ?? 0);
      const tables = Number(db.prepare("SELECT count(*) AS n FROM sqlite_schema").get()?.n ?? 0);
      if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
        throw new StoreError(
          "STORE_CORRUPT",
          `${this.#path} is not a gearbox store (application_id ${appId}, ${tables} schema objects); refusing to touch it`,
        );
      }
      // One server per file: the exclusive lock taken by the first write
      // transaction is held until close, so a second server fails fast.
      db.exec(
        `PRAGMA busy_timeout=0; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=${
          this.#options.synchronous ?? "FULL"
        }; PRAGMA wal_autocheckpoint=${WAL_CHECKPOINT_PAGES};`,
      );
      db.exec("BEGIN IMMEDIATE; COMMIT;");
      this.#check(db);
      this.#migrate(db);
      this.#insertFresh = db.prepare(`INSERT INTO job (${FRESH_COLUMNS}) VALUES (${FRESH_ROW})`);
      this.#insertFreshMany = db.prepare(
        `INSERT INTO job (${FRESH_COLUMNS}) VALUES ${Array(INSERT_CHUNK).fill(`(${FRESH_ROW})`).join(", ")}`,
      );
      this.#insertFull = db.prepare(`INSERT INTO job (${FULL_COLUMNS}) VALUES (${FULL_ROW})`);
      this.#delete = db.prepare("DELETE FROM job WHERE id = ?");
      this.#update = db.prepare(UPDATE_SQL);
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
        if (metaIntact(r) && (job.data === undefined || dataIntact(job.data, r.data_crc))) yield job;
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

  schedules(): Promise<ScheduleRow[]> {
    try {
      if (!this.#db) throw new StoreError("STORE_UNAVAILABLE", "store is not open");
      const rows = this.#db.prepare("SELECT name, next_slot, state FROM schedule ORDER BY name").all();
      return Promise.resolve(rows.map((r) => ({ name: String(r.name), nextSlot: Number(r.next_slot), state: String(r.state) })));
    } catch (e) {
      return Promise.reject(storeError(e, this.#path));
    }
  }

  /** Refuses a file whose pages SQLite finds inconsistent, before anything is written to it. */
  #check(db: Database): void {
    const problems = pageProblems(db, 5);
    if (problems.length === 0) return;
    throw new StoreError("STORE_CORRUPT", `${this.#path} is damaged (quick_check: ${problems.join("; ")})`);
  }

  /**
   * See {@link JobStore.payload}: one point read, answered at once (SQLite
   * is embedded) but through the port's promise. A workload that fails its
   * checksum rejects: its job fails, never runs on wrong bytes.
   */
  payload(id: number): Promise<Uint8Array | undefined> {
    try {
      if (!this.#db) throw new StoreError("STORE_UNAVAILABLE", "store is not open");
      const row = this.#payload!.get(id);
      if (row === undefined) return Promise.resolve(undefined);
      const data = workloadOf(row.data);
      if (!dataIntact(data, row.data_crc)) {
        throw new StoreError("STORE_CORRUPT", `the workload of job ${id} fails its checksum (${this.#path} is damaged)`);
      }
      return Promise.resolve(data);
    } catch (e) {
      return Promise.reject(storeError(e, this.#path));
    }
  }

  #migrate(db: Database): void {
    const version = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
    if (version > MIGRATIONS.length) {
      throw new StoreError("STORE_CORRUPT", `${this.#path} has schema version ${version}, newer than this gearbox (${MIGRATIONS.length})`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      transaction(db, () => {
        db.exec(MIGRATIONS[v]!);
        db.exec(`PRAGMA user_version=${v + 1}; PRAGMA application_id=${APPLICATION_ID};`);
      });
    }
  }

  commit(batch: StoreBatch): Promise<void> {
    const db = this.#db;
    if (!db) return Promise.reject(new StoreError("STORE_UNAVAILABLE", "store is not open"));
    try {
      let updates: SqlValue[][] = [];
      transaction(db, () => {
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
        updates = (batch.update ?? []).map(updateRow);
        for (const u of updates) this.#update!.run(...u);
        for (const id of batch.remove) this.#delete!.run(id);
        for (const r of batch.schedules ?? []) {
          db.prepare("INSERT OR REPLACE INTO schedule (name, next_slot, state) VALUES (?, ?, ?)").run(r.name, r.nextSlot, r.state);
        }
        for (const name of batch.dropSchedules ?? []) db.prepare("DELETE FROM schedule WHERE name = ?").run(name);
      });
      if (this.#changes) {
        for (const u of updates) this.#changes.updates.push(u);
        for (const id of batch.remove) this.#changes.removes.push(id);
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(storeError(e, this.#path));
    }
  }

  /**
   * See {@link JobStore.backup} and sqlite_backup.ts. One at a time. The copy
   * is written as `PATH.partial` and renamed to PATH once complete, so a
   * backup cut short (a crash, a full disk) never looks like a whole one.
   */
  async backup(path: string): Promise<BackupResult> {
    const db = this.#db;
    if (!db) throw new StoreError("STORE_UNAVAILABLE", "store is not open");
    if (this.#changes) throw new StoreError("BACKUP_BUSY", "a backup is already running");
    if (existsSync(path)) throw new StoreError("BACKUP_EXISTS", `${path} exists; a backup never writes over a file`);
    const partial = `${path}.partial`;
    removeStore(partial); // left by a backup that was cut short
    const log: ChangeLog = { updates: [], removes: [] };
    const target = new SqliteStore(partial);
    let done = false;
    try {
      await target.open();
      this.#changes = log;
      const result = await copyRunningStore(db, target.#db!, log, () => new Promise((r) => setTimeout(r, 0)));
      await target.close(); // checkpoints: the whole copy is in the one file
      renameSync(partial, path);
      done = true;
      return result;
    } catch (e) {
      throw storeError(e, path);
    } finally {
      this.#changes = undefined;
      await target.close();
      if (!done) removeStore(partial);
    }
  }

  close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
    return Promise.resolve();
  }

  async discard(): Promise<void> {
    await this.close();
    if (this.#created) removeStore(this.#path);
  }
}

/**
 * WAL pages between automatic checkpoints (SQLite's default is 1000, about
 * 4 MB): each checkpoint copies pages into the database and syncs it inside
 * some commit, so fewer, larger ones keep submit acknowledgements steadier.
 */
const WAL_CHECKPOINT_PAGES = 10_000;
