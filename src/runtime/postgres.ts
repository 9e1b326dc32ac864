/**
 * PostgreSQL through the `postgres` package (postgres.js 3.x, which runs on
 * Bun, Deno and Node alike). The one file that names the driver: the store
 * loads it with `import()` only when a `postgres://` store is opened, so the
 * library (mod.ts) never needs the package (docs/architecture.md §2).
 *
 * Queries are text with `$1` parameters; arrays bind as one parameter (cast
 * them in the SQL: `$1::bigint[]`), so a batch of any size is one statement.
 * `bigint` columns read back as numbers (job ids, times and checksums all fit
 * in 2^53), `bytea` as Uint8Array.
 *
 * @module
 */
import { connect as tcpConnect, type Socket } from "node:net";
import postgres from "postgres";

/** Element types an array parameter may have. */
const ARRAY_OIDS = { bigint: 20, integer: 23, smallint: 21, text: 25, bytea: 17 } as const;

/** An array bound as one parameter of a known element type: see {@link pgArray}. */
export interface PgArray {
  readonly pgArray: readonly (number | string | Uint8Array | null)[];
  readonly type: keyof typeof ARRAY_OIDS;
}

export type PgValue = null | number | string | boolean | Uint8Array | PgArray;

/** One parameter holding many values (`unnest($1::bytea[])`, `id = ANY($1::bigint[])`). */
export function pgArray(values: PgArray["pgArray"], type: PgArray["type"]): PgArray {
  return { pgArray: values, type };
}
export type PgRow = Record<string, unknown>;

/** A connection or transaction to run statements on. */
export interface PgSession {
  query(text: string, params?: readonly PgValue[]): Promise<PgRow[]>;
}

/** Statements, and COPY FROM STDIN. */
export interface PgCopySession extends PgSession {
  /**
   * Runs `text` (a `COPY ... FROM STDIN`) with `data` as the whole input.
   * Resolves once the server has taken every row (on a pool: and committed
   * them, the COPY being a transaction of its own); rejects with the
   * server's error when the COPY failed (a violated constraint, a lost
   * connection), so a COMMIT after it never covers a failed COPY.
   */
  copyIn(text: string, data: Uint8Array): Promise<void>;
}

/**
 * A COPY FROM STDIN on a connection of its own whose input is sent in parts
 * while it is being made, so the server works on the first rows while the
 * last are still coming; a transaction of its own.
 */
export interface PgCopyStream {
  /**
   * Sends a part of the input. The bytes are only borrowed: a part that must
   * wait (the COPY not started yet, an earlier part still being written) is
   * copied into the stream's waiting bytes, so the caller may reuse `part`'s
   * memory once this returns.
   */
  write(part: Uint8Array): void;
  /** Ends the input: resolves once the server took and committed every row; rejects with its error. */
  end(): Promise<void>;
  /** Gives up: the server discards the rows (CopyFail); resolves once the connection is back in the pool. */
  abort(): Promise<void>;
}

/** A transaction: statements, and COPY FROM STDIN on its connection. */
export type PgTransaction = PgCopySession;

/** A connection taken out of the pool until released (it holds session state: an advisory lock). */
export interface PgReserved extends PgSession {
  release(): void;
}

/** A bounded pool of connections to one database. */
export interface PgPool extends PgCopySession {
  /** Runs `fn` in one transaction: COMMIT when its promise resolves, ROLLBACK when it rejects. */
  transaction<T>(fn: (tx: PgTransaction) => Promise<T>): Promise<T>;
  reserve(): Promise<PgReserved>;
  /** Starts a COPY FROM STDIN (`text`) on a connection of its own, its input to be sent in parts. */
  copyStream(text: string): PgCopyStream;
  /** Runs a query and hands its rows over `size` at a time, so a big result is never held whole. */
  cursor(text: string, params: readonly PgValue[], size: number, each: (rows: PgRow[]) => void): Promise<void>;
  /** Closes every connection, waiting up to `timeoutS` for queries in flight. */
  end(timeoutS?: number): Promise<void>;
}

export interface PgOptions {
  /** Most connections open at once. */
  max: number;
  connectTimeoutS: number;
  /** Reported in pg_stat_activity. */
  applicationName: string;
}

/** A `bigint` (oid 20) as a JS number; the values gearbox stores are all below 2^53. */
const BIGINT_AS_NUMBER = { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) };

type Sql = ReturnType<typeof postgres>;

/** How long after a failed connection the pool tries that connection again. */
const RECONNECT_S = 0.2;

function session(root: Sql, sql: Sql | postgres.TransactionSql | postgres.ReservedSql): PgSession {
  return { query: async (text, params = []) => toRows(await sql.unsafe(text, bind(root, params))) };
}

/** A connection to COPY on, and how to give it back. */
type CopyConnection = { sql: postgres.ReservedSql | postgres.TransactionSql; release(): void };

/** A connection reserved from the pool: the pool would otherwise pipeline other queries onto it mid-COPY. */
const reserved = (sql: Sql) => async (): Promise<CopyConnection> => {
  const conn = await sql.reserve();
  return { sql: conn, release: () => conn.release() };
};

/**
 * COPY FROM STDIN on a connection nothing else writes to meanwhile: a
 * transaction's, or one reserved from the pool (then the COPY is a
 * transaction of its own, committed before the server reports it
 * complete). Parts written before the server is ready for them wait here; a
 * failure (the server's, a lost connection) is kept and given by `end`, and
 * later parts are dropped.
 *
 * Success is the stream's `finish`, which the driver emits on the server's
 * CommandComplete. A failure the server reports after the stream ended (a
 * duplicate key) never reaches the stream: the driver hands it only to the
 * COPY's query, whose promise it already settled with the stream. So the
 * query's `reject` is wrapped to catch it (tests/store/postgres_copy.test.ts
 * fails, by timing out, if a driver update stops calling it).
 */
class CopyStream implements PgCopyStream {
  /** Parts that could not go at once, gathered in order in one buffer (see {@link takeSpare}); sent as one part when the stream can take it. */
  #waiting: Uint8Array = EMPTY;
  #waitingLength = 0;
  #stream: import("node:stream").Writable | undefined;
  #failure: unknown;
  #conn: CopyConnection | undefined;
  #finished!: () => void;
  #failed!: (e: unknown) => void;
  readonly #done = new Promise<void>((resolve, reject) => ((this.#finished = resolve), (this.#failed = reject)));
  readonly #started: Promise<void>;

  constructor(connect: () => Promise<CopyConnection>, text: string) {
    this.#done.catch(() => {}); // observed by end or abort
    this.#started = this.#start(connect, text).catch((e) => this.#fail(e));
  }

  /** Sends `data` as the whole input and ends it. */
  static async all(connect: () => Promise<CopyConnection>, text: string, data: Uint8Array): Promise<void> {
    const copy = new CopyStream(connect, text);
    copy.write(data);
    await copy.end();
  }

  async #start(connect: () => Promise<CopyConnection>, text: string): Promise<void> {
    this.#conn = await connect();
    const copy = this.#conn.sql.unsafe(text);
    const query = copy as unknown as { reject: (e: unknown) => void };
    const settle = query.reject;
    query.reject = (e) => (this.#fail(e), settle(e));
    const s = await copy.writable();
    s.on("error", (e) => this.#fail(e));
    s.on("finish", () => this.#finished());
    s.on("drain", () => this.#flush());
    this.#stream = s;
    this.#flush();
  }

  /** Keeps a part that cannot go yet after the others waiting. */
  #wait(part: Uint8Array): void {
    const need = this.#waitingLength + part.length;
    if (need > this.#waiting.length) {
      const bigger = takeSpare(Math.max(need, this.#waiting.length * 2));
      bigger.set(this.#waiting.subarray(0, this.#waitingLength));
      giveSpare(this.#waiting);
      this.#waiting = bigger;
    }
    this.#waiting.set(part, this.#waitingLength);
    this.#waitingLength = need;
  }

  /** Sends the waiting parts as one, once the stream is idle: the driver copies them at once, so the buffer is free again. */
  #flush(): void {
    const s = this.#stream;
    if (!s || this.#waitingLength === 0 || this.#failure !== undefined || s.writableLength > 0) return;
    const all = this.#waiting.subarray(0, this.#waitingLength);
    this.#waitingLength = 0;
    try {
      s.write(all);
    } catch (e) {
      this.#fail(e);
    }
  }

  #fail(e: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = e ?? new Error("the COPY failed");
    this.#failed(this.#failure);
  }

  write(part: Uint8Array): void {
    if (this.#failure !== undefined) return;
    const s = this.#stream;
    // An idle stream hands the part to the driver at once, which copies it into its CopyData
    // message before returning (tests/store/postgres_copy.test.ts checks). Otherwise (not
    // started, busy, parts already waiting) it waits after the others: copied, but into one
    // kept buffer rather than a fresh one each, and sent with them as one part.
    if (!s || this.#waitingLength > 0 || s.writableLength > 0) return void (this.#wait(part), this.#flush());
    try {
      s.write(part);
    } catch (e) {
      this.#fail(e); // the driver writes to its socket synchronously: a connection that died meanwhile throws
    }
  }

  async end(): Promise<void> {
    await this.#started;
    try {
      if (this.#failure === undefined) {
        // Whatever still waits goes last, without a copy: nothing is written after it, and the
        // buffer is given back only once the COPY settled (#settled).
        if (this.#waitingLength > 0) this.#stream!.write(this.#waiting.subarray(0, this.#waitingLength));
        this.#waitingLength = 0;
        this.#stream!.end();
      }
    } catch (e) {
      this.#fail(e);
    }
    try {
      await this.#done;
    } finally {
      await this.#settled();
    }
  }

  async abort(): Promise<void> {
    await this.#started;
    if (this.#failure === undefined) this.#stream!.destroy(new Error("gearbox gave up this COPY"));
    await this.#settled();
  }

  async #settled(): Promise<void> {
    await this.#done.catch(() => {});
    this.#conn?.release();
    this.#conn = undefined;
    // Settled: the driver has written (or dropped) everything it was given.
    giveSpare(this.#waiting);
    this.#waiting = EMPTY;
    this.#waitingLength = 0;
  }
}

const EMPTY = new Uint8Array(0);
/**
 * Waiting buffers kept between COPYs, one per COPY that may run at once (a store's commit
 * lanes, and the one staged): a fresh buffer per COPY cost page faults per commit.
 */
const spares: Uint8Array[] = [];
const MAX_SPARES = 4;
/** Above this, a waiting buffer is not kept. */
const MAX_SPARE = 8 * 1024 * 1024;

function takeSpare(size: number): Uint8Array {
  const i = spares.findIndex((b) => b.length >= size);
  return i < 0 ? new Uint8Array(size) : spares.splice(i, 1)[0]!;
}

function giveSpare(b: Uint8Array): void {
  if (b.length === 0 || b.length > MAX_SPARE) return;
  if (spares.length < MAX_SPARES) return void spares.push(b);
  const smallest = spares.reduce((m, x, i) => (x.length < spares[m]!.length ? i : m), 0);
  if (spares[smallest]!.length < b.length) spares[smallest] = b;
}

function copySession(root: Sql, tx: postgres.TransactionSql): PgTransaction {
  const own = (): Promise<CopyConnection> => Promise.resolve({ sql: tx, release: () => {} });
  return { ...session(root, tx), copyIn: (text, data) => CopyStream.all(own, text, data) };
}

/** Parameters as the driver takes them: each {@link PgArray} typed by its element oid. */
function bind(root: Sql, params: readonly PgValue[]): never[] {
  return params.map((p) =>
    p !== null && typeof p === "object" && "pgArray" in p ? root.array(p.pgArray as never[], ARRAY_OIDS[p.type]) : p
  ) as never[];
}

/** Rows as plain records, each `bytea` a Uint8Array (the driver gives Node Buffers). */
function toRows(result: readonly PgRow[]): PgRow[] {
  const rows: PgRow[] = [];
  for (const r of result) {
    for (const k in r) {
      const v = r[k];
      if (v instanceof Uint8Array && v.constructor !== Uint8Array) r[k] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    }
    rows.push(r);
  }
  return rows;
}

/**
 * The pool's sockets, made here rather than by the driver so that an ended
 * pool opens no more: after a failed connect the driver retries once on a
 * timer that outlives `end()`, and if the database answers by then that
 * connection is nobody's (it would keep a stopped server's process alive).
 *
 * Each socket is handed over while it still connects (the driver's startup
 * message waits in its buffer), never as a rejected promise: a failed
 * connect must reach the driver as the socket's `error` and `close`, which
 * put the connection back among the closed ones to be opened again later.
 * A rejection leaves it counted as connecting forever (postgres 3.4.9): after
 * `max` failed connects (a database restarting) the pool would hang for good,
 * even once the database is back (tests/store/postgres_pool.test.ts).
 */
function socketSource(connectTimeoutS: number) {
  let ended = false;
  const open = new Set<Socket>();
  const socket = (o: { host: string[]; port: number[] }): Promise<Socket> => {
    if (ended) return Promise.reject(new Error("the connection pool was closed"));
    const s = tcpConnect(o.port[0]!, o.host[0]!);
    open.add(s);
    s.once("close", () => open.delete(s));
    const timer = setTimeout(() => s.destroy(new Error(`connect timeout after ${connectTimeoutS} s`)), connectTimeoutS * 1000);
    s.on("error", () => clearTimeout(timer)); // the driver listens too; this one only ends the timer
    s.once("connect", () => clearTimeout(timer));
    return Promise.resolve(s);
  };
  const close = () => {
    ended = true;
    for (const s of open) s.destroy();
  };
  return { socket, close };
}

/** Opens a pool; no connection is made before the first query. */
export function openPostgres(url: string, options: PgOptions): PgPool {
  const sockets = socketSource(options.connectTimeoutS);
  const sql = postgres(url, {
    // A documented option (a function giving a connected socket) that the package's types leave out.
    ...({ socket: sockets.socket } as object),
    max: options.max,
    connect_timeout: options.connectTimeoutS,
    idle_timeout: 0,
    // A closed connection is opened again at most this long after it failed (seconds), not after the
    // driver's growing backoff (up to 20 s): during an outage a statement then fails within it, so a
    // submission gets its ERROR promptly, and the pool is back promptly when the database is.
    backoff: () => RECONNECT_S,
    onnotice: () => {},
    types: { bigint: BIGINT_AS_NUMBER } as never,
    connection: { application_name: options.applicationName },
  });
  return {
    ...session(sql, sql),
    copyIn: (text, data) => CopyStream.all(reserved(sql), text, data),
    transaction: (fn) => sql.begin((tx) => fn(copySession(sql, tx))) as Promise<never>,
    copyStream: (text) => new CopyStream(reserved(sql), text),
    reserve: async () => {
      const r = await sql.reserve();
      return { ...session(sql, r), release: () => r.release() };
    },
    cursor: async (text, params, size, each) => {
      await sql.unsafe(text, bind(sql, params)).cursor(size, (rows) => void each(toRows(rows)));
    },
    end: async (timeoutS = 5) => {
      try {
        await sql.end({ timeout: timeoutS });
      } finally {
        sockets.close();
      }
    },
  };
}
