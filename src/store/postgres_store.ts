/**
 * Background jobs in a PostgreSQL database, with the promises of the SQLite
 * store: each group commit is one transaction (all its new jobs in one
 * binary COPY, its updates in one UPDATE of `unnest`ed arrays, its
 * deletes in one DELETE by id array), so a job is acknowledged only after
 * PostgreSQL committed it; rows carry the same checksums (row_checksum.ts);
 * workloads stay in the database and are read back by id.
 *
 * The driver (src/runtime/postgres.ts) is loaded with `import()` on `open`,
 * so a program that never opens a PostgreSQL store never loads it. Several
 * servers share a database as the nodes of a cluster (docs/cluster.md,
 * postgres_nodes.ts): each reads and writes its own rows, one process per
 * node id.
 *
 * @module
 */
import type { PgCopyStream, PgPool, PgRow, PgTransaction } from "../runtime/postgres.ts";
import type { SqlValue } from "../runtime/sqlite.ts";
import type { Adoption, ClusterStore, IdRange, NodeIdentity, NodeRow } from "./cluster_store.ts";
import type { CommitResult, JobStore, ScheduleRow, StoreBatch, StoredJob, StoreNote } from "./job_store.ts";
import { StoreError } from "./job_store.ts";
import { dataIntact, metaIntact, REPLAY_COLUMNS, toJob, updateRow, workloadOf } from "./job_rows.ts";
import {
  columns,
  copiedWhole,
  insertUnique,
  MAX_KEY_BYTES,
  meetsIndex,
  metIndex,
  revive,
  UPDATE_COLUMNS,
  UPDATE_SQL,
} from "./postgres_uniques.ts";
import { CopyEncoder } from "./postgres_copy.ts";
import { type EncodedCopy, encodeNewRows, NEW_ROWS_SQL } from "./postgres_copy_rows.ts";
import { pgStoreError } from "./postgres_errors.ts";
import { ADOPT_SQL, adoptions, heartbeat, ID_RANGE, lockNode, nodeNumber, nodeRow, NODES_SQL, registerLive } from "./postgres_nodes.ts";
import { dropIfEmpty, migrate, refuseForeign, underSchemaLock } from "./postgres_schema.ts";
import { PgNames } from "./postgres_names.ts";
import { readSchedules, writeSchedules } from "./postgres_schedules.ts";
import type { PostgresTarget } from "./postgres_url.ts";

const DELETE_SQL = "DELETE FROM gearbox_job WHERE node = $1 AND id = ANY($2::bigint[])";
/** Through the view, which gives the texts of the numbered names (postgres_names.ts). */
const REPLAY_SQL = `SELECT ${REPLAY_COLUMNS}, CASE WHEN uniq = '-' THEN data END AS data, data_crc
  FROM gearbox_jobs WHERE node = $1 ORDER BY id`;
/** Rows the replay takes from the server at a time. */
const REPLAY_CHUNK = 5000;

export class PostgresStore implements JobStore, ClusterStore {
  readonly url: string;
  readonly payloadsOutOfMemory = true;
  readonly maxKeyBytes = MAX_KEY_BYTES;
  readonly commitLanes: number;
  readonly backupAdvice: string;
  readonly #target: PostgresTarget;
  readonly cluster: ClusterStore = this;
  /** The node whose rows this store reads and writes ({@link join}; '' for a store opened without a server). */
  #node = "";
  #ids: IdRange = { base: 0, size: ID_RANGE, highest: 0 };
  #pool: PgPool | undefined;
  /**
   * Holds the node's advisory lock for as long as the store is open: a pool
   * of one connection of its own, not a connection reserved from the main
   * pool, because the driver (postgres 3.4.9) throws an uncaught TypeError
   * when a reserved connection whose backend died is written to (upstream
   * porsager/postgres#1208); a pool replaces a dead connection instead.
   */
  #lock: PgPool | undefined;
  #pgArray: typeof import("../runtime/postgres.ts").pgArray | undefined;
  /**
   * Encoders (each keeps its buffer, postgres_copy.ts) no commit holds now: a commit holds
   * one until it settles, as it may send its rows again; one per lane is kept.
   */
  readonly #idle: CopyEncoder[] = [];
  /** Encodes staged parts, which the COPY stream sends or copies before `write` returns. */
  readonly #parts = new CopyEncoder();
  /** The COPY the next commit's new jobs are being sent by ({@link stage}), and how many it has. */
  #staged: Staged | undefined;
  /** A name of the next commit's jobs has no number yet: nothing more of it is staged (the commit numbers it first). */
  #unstaged = false;
  readonly #names = new PgNames();
  /** This node's number and the backend (session) that holds its lock: a database restart ends that session. */
  #number = 0;
  #lockPid: unknown;
  /** A statement failed to reach the database: the lock is checked before the next commit or heartbeat. */
  #suspect = false;
  /** Opening created our tables (the schema was empty). */
  #created = false;

  constructor(target: PostgresTarget) {
    this.#target = target;
    this.commitLanes = target.commits;
    this.url = target.display;
    this.backupAdvice = `the PostgreSQL store ${target.display} is backed up with PostgreSQL's own tools ` +
      "(pg_dump, or pg_basebackup with WAL archiving), not by gearbox";
  }

  async open(note?: StoreNote): Promise<Iterable<StoredJob>> {
    const display = this.#target.display;
    try {
      const { openPostgres, pgArray } = await import("../runtime/postgres.ts");
      this.#pgArray = pgArray;
      const options = { max: this.#target.pool, connectTimeoutS: this.#target.connectTimeoutS, applicationName: "gearbox" };
      const pool = this.#pool = openPostgres(this.#target.connect, options);
      const lock = this.#lock = openPostgres(this.#target.connect, { ...options, max: 1 });
      await underSchemaLock(lock, async () => {
        await refuseForeign(lock, display);
        this.#created = await migrate(lock, (fn) => pool.transaction(fn), display, note) === 0;
        const number = await nodeNumber((fn) => pool.transaction(fn), this.#node);
        this.#lockPid = await lockNode(lock, this.#node, this.#number = number, display);
        this.#ids = await registerLive(lock, this.#node, number);
      });
      return await this.#replay(pool);
    } catch (e) {
      await this.close();
      throw pgStoreError(e, display);
    }
  }

  /**
   * Every job of this node, oldest first, workloads left in the database
   * (except a `-` unique's, whose digest is its key). Rows that fail their
   * checksum are collected and the store refused with their ids.
   */
  async #replay(pool: PgPool): Promise<StoredJob[]> {
    const jobs: StoredJob[] = [];
    const damaged: number[] = [];
    await pool.cursor(REPLAY_SQL, [this.#node], REPLAY_CHUNK, (rows) => {
      for (const r of rows) {
        const row = r as Record<string, SqlValue>;
        const job = toJob(row);
        if (metaIntact(row) && (job.data === undefined || dataIntact(job.data, row.data_crc))) jobs.push(job);
        else damaged.push(job.id);
      }
    });
    if (damaged.length > 0) {
      const ids = damaged.slice(0, 10).join(", ") + (damaged.length > 10 ? `, ... (${damaged.length} in all)` : "");
      throw new StoreError(
        "STORE_CORRUPT",
        `${this.url} is damaged: job rows ${ids} fail their checksum. Refusing to start; nothing was changed`,
      );
    }
    return jobs;
  }

  join(node: NodeIdentity): void {
    if (this.#pool) throw new Error("join the cluster before opening the store");
    this.#node = node.id;
  }

  get ids(): IdRange {
    return this.#ids;
  }

  async heartbeat(address: string): Promise<boolean> {
    try {
      await this.#holdLock(true);
      return await heartbeat(this.#open(), this.#node, address);
    } catch (e) {
      throw this.#failure(e);
    }
  }

  /**
   * The node's advisory lock lives in one session: when the database
   * restarted (or the connection dropped), it is gone, and another process
   * with this node id could take it. So after any statement failed to reach
   * the database, and at every heartbeat (`always`), the lock's session is
   * checked; if it is not the one that took the lock, the lock is taken again
   * on a new session, or refused (STORE_LOCKED) when another process holds
   * it now: the server then stops (docs/cluster.md §4).
   */
  async #holdLock(always: boolean): Promise<void> {
    if (!always && !this.#suspect) return;
    this.#open();
    const lock = this.#lock!;
    // A dead session is replaced by the lock's pool on this query: a new backend, without the lock.
    const [row] = await lock.query("SELECT pg_backend_pid() AS pid");
    if (row?.pid === this.#lockPid) return void (this.#suspect = false);
    this.#lockPid = await lockNode(lock, this.#node, this.#number, this.url);
    this.#suspect = false;
  }

  /** A failure as a store error; one that could not reach the database makes the lock suspect. */
  #failure(e: unknown): StoreError {
    const error = pgStoreError(e, this.url);
    if (error.code === "STORE_UNAVAILABLE") this.#suspect = true;
    return error;
  }

  async adoptDead(leaseMs: number): Promise<Adoption[]> {
    let rows: PgRow[];
    try {
      rows = await this.#open().query(ADOPT_SQL, [this.#node, leaseMs, this.#number]);
    } catch (e) {
      throw pgStoreError(e, this.url);
    }
    return adoptions(rows);
  }

  async nodes(leaseMs: number): Promise<NodeRow[]> {
    try {
      return (await this.#open().query(NODES_SQL, [leaseMs])).map(nodeRow);
    } catch (e) {
      throw pgStoreError(e, this.url);
    }
  }

  #open(): PgPool {
    if (!this.#pool || !this.#lock) throw new StoreError("STORE_UNAVAILABLE", "store is not open");
    return this.#pool;
  }

  async payload(id: number): Promise<Uint8Array | undefined> {
    const pool = this.#pool;
    if (!pool || !this.#lock) throw new StoreError("STORE_UNAVAILABLE", "store is not open");
    let row: PgRow | undefined;
    try {
      [row] = await pool.query("SELECT data, data_crc FROM gearbox_job WHERE node = $1 AND id = $2", [this.#number, id]);
    } catch (e) {
      throw this.#failure(e);
    }
    if (row === undefined) return undefined;
    const data = workloadOf(row.data as SqlValue);
    if (!dataIntact(data, row.data_crc as SqlValue)) {
      throw new StoreError("STORE_CORRUPT", `the workload of job ${id} fails its checksum (${this.url} is damaged)`);
    }
    return data;
  }

  /**
   * One transaction for the whole batch. New rows go in by binary COPY, all
   * of them, even those with a unique: a unique that names a live row of the
   * cluster is rare, and the COPY is twice as fast as the INSERT that can
   * skip one. When the COPY meets the unique index (23505) it is undone
   * (alone, or to a savepoint) and the batch is committed again the slow
   * way: rows without a unique by COPY, rows with one by `INSERT ... ON
   * CONFLICT DO NOTHING` with the holders' handles read back
   * (postgres_uniques.ts), which are reported, not a failure. The updates
   * and deletes go first (pipelined), so a key they free is free for the new
   * rows. A batch of only new jobs is the COPY alone, which PostgreSQL runs
   * as a transaction of its own.
   */
  async commit(batch: StoreBatch): Promise<CommitResult | void> {
    const pool = this.#pool;
    if (!pool || !this.#pgArray || !this.#lock) throw new StoreError("STORE_UNAVAILABLE", "store is not open");
    const staged = this.#staged;
    this.#staged = undefined;
    this.#unstaged = false;
    const updates = batch.update ?? [];
    const schedules = (batch.schedules?.length ?? 0) + (batch.dropSchedules?.length ?? 0) > 0;
    if (batch.add.length === 0 && updates.length === 0 && batch.remove.length === 0 && !schedules) return;
    try {
      await this.#holdLock(false);
      if (!this.#names.covers(batch.add)) await this.#names.number(pool, batch.add, this.#pgArray);
      const copies = this.#idle.pop() ?? new CopyEncoder();
      try {
        return await this.#commitWith(pool, copies, batch, updates, staged);
      } finally {
        if (this.#idle.length < this.commitLanes) this.#idle.push(copies);
      }
    } catch (e) {
      void staged?.stream.abort(); // a no-op once it ended or failed
      throw this.#failure(e);
    }
  }

  /**
   * Starts sending the next commit's first new jobs by a COPY of their own
   * while the server still gathers the rest: PostgreSQL works on these rows
   * meanwhile. The commit ends that COPY when its batch is new jobs only
   * (the staged ones first), else gives it up and commits as usual.
   */
  stage(jobs: readonly StoredJob[]): void {
    const pool = this.#pool;
    if (!pool || jobs.length === 0 || this.#unstaged) return;
    if (!this.#names.covers(jobs)) return void (this.#unstaged = true);
    const opens = this.#staged === undefined;
    const staged = (this.#staged ??= { stream: pool.copyStream(NEW_ROWS_SQL), jobs: 0 });
    staged.stream.write(encodeNewRows(this.#parts, jobs, this.#number, this.#names, opens, false));
    staged.jobs += jobs.length;
  }

  async #commitWith(
    pool: PgPool,
    copies: CopyEncoder,
    batch: StoreBatch,
    updates: readonly StoredJob[],
    staged: Staged | undefined,
  ): Promise<CommitResult | void> {
    const scheduled = (batch.schedules?.length ?? 0) + (batch.dropSchedules?.length ?? 0) > 0;
    const addsOnly = updates.length === 0 && batch.remove.length === 0 && !scheduled;
    const rest = staged ? batch.add.slice(staged.jobs) : [];
    if (staged && addsOnly && batch.add.length >= staged.jobs) {
      staged.stream.write(encodeNewRows(copies, rest, this.#number, this.#names, false, true));
      try {
        return await staged.stream.end();
      } catch (e) {
        if (!metIndex(e)) throw e;
      }
      return await pool.transaction((tx) => this.#commitIn(tx, copies, batch, updates));
    }
    await staged?.stream.abort();
    if (scheduled) return await pool.transaction((tx) => this.#commitSchedules(tx, copies, batch, updates));
    const copy = batch.add.length > 0 ? this.#copyOf(copies, batch.add) : undefined;
    if (copy && addsOnly) {
      try {
        return await pool.copyIn(copy.sql, copy.data);
      } catch (e) {
        if (!metIndex(e)) throw e;
      }
    }
    // After a COPY that met the index, the new rows go the slow way at once.
    return await pool.transaction((tx) => this.#commitIn(tx, copies, batch, updates, addsOnly ? undefined : copy));
  }

  #copyOf(copies: CopyEncoder, jobs: readonly StoredJob[]): EncodedCopy {
    return { sql: NEW_ROWS_SQL, data: encodeNewRows(copies, jobs, this.#number, this.#names, true, true) };
  }

  /** A batch with schedules' rows (postgres_schedules.ts): the rows first, and the jobs of a row another node moved left out, as coalesced. */
  async #commitSchedules(tx: PgTransaction, copies: CopyEncoder, batch: StoreBatch, updates: readonly StoredJob[]): Promise<CommitResult> {
    const lost = await writeSchedules(tx, batch.schedules ?? [], batch.dropSchedules ?? []);
    const dropped = new Set((batch.schedules ?? []).filter((r) => lost.includes(r.name)).flatMap((r) => r.jobs ?? []));
    const add = batch.add.filter((j) => !dropped.has(j.id));
    const result = await this.#commitIn(tx, copies, { ...batch, add }, updates);
    const coalesced = new Map(result?.coalesced ?? []);
    for (const id of dropped) coalesced.set(id, "");
    return { coalesced, lostSchedules: lost };
  }

  /** The schedules' rows (`JobStore.schedules`). */
  schedules(): Promise<ScheduleRow[]> {
    if (!this.#pool) return Promise.reject(new StoreError("STORE_UNAVAILABLE", "store is not open"));
    return readSchedules(this.#pool).catch((e) => Promise.reject(this.#failure(e)));
  }

  /** The batch in transaction `tx`; `copy`, every new row's COPY, is tried first (absent: it already met the index). */
  async #commitIn(
    tx: PgTransaction,
    copies: CopyEncoder,
    batch: StoreBatch,
    updates: readonly StoredJob[],
    copy?: EncodedCopy,
  ): Promise<CommitResult | void> {
    const node = this.#number;
    const pgArray = this.#pgArray!;
    const sent: Promise<unknown>[] = [];
    if (updates.length > 0) {
      const changes = columns(updates.map(updateRow), UPDATE_COLUMNS.length);
      sent.push(tx.query(UPDATE_SQL, [node, ...changes.map((c, i) => pgArray(c, UPDATE_COLUMNS[i]![1]))]));
    }
    if (batch.remove.length > 0) sent.push(tx.query(DELETE_SQL, [node, pgArray(batch.remove, "bigint")]));
    await Promise.all(sent);
    const revived = updates.filter(meetsIndex);
    const coalesced = revived.length > 0 ? await revive(tx, node, revived, pgArray) : new Map<number, string>();
    if (batch.add.length > 0 && !(copy && await copiedWhole(tx, copy.sql, copy.data, batch.add.some(meetsIndex)))) {
      const unique = batch.add.filter(meetsIndex);
      const plain = batch.add.filter((j) => !meetsIndex(j));
      const rows = plain.length > 0 ? this.#copyOf(copies, plain) : undefined;
      if (rows) await tx.copyIn(rows.sql, rows.data); // nothing may be sent on its connection while it copies
      for (const [id, handle] of await insertUnique(tx, node, unique, pgArray, this.#names)) coalesced.set(id, handle);
    }
    return coalesced.size > 0 ? { coalesced } : undefined;
  }

  /** Closes, and drops the tables opening created if they still hold no job: a failed start leaves nothing behind. */
  async discard(): Promise<void> {
    try {
      if (this.#created && this.#lock) await dropIfEmpty(this.#lock);
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    const staged = this.#staged;
    this.#staged = undefined;
    await staged?.stream.abort();
    const pool = this.#pool;
    const lock = this.#lock;
    this.#lock = undefined;
    this.#pool = undefined;
    // Ends every connection: the advisory lock goes with its session.
    await Promise.all([pool?.end(), lock?.end()]);
  }
}

/** A COPY started before its commit ({@link PostgresStore.stage}), and the jobs it has. */
interface Staged {
  stream: PgCopyStream;
  jobs: number;
}
