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

/** A transaction: statements, and COPY FROM STDIN on its connection. */
export interface PgTransaction extends PgSession {
  /**
   * Runs `text` (a `COPY ... FROM STDIN`) with `data` as the whole input.
   * Resolves once the server has taken every row; rejects when the COPY
   * failed (a violated constraint, a lost connection), so a COMMIT after it
   * never covers a failed COPY.
   */
  copyIn(text: string, data: Uint8Array): Promise<void>;
}

/** A connection taken out of the pool until released (it holds session state: an advisory lock). */
export interface PgReserved extends PgSession {
  release(): void;
}

/** A bounded pool of connections to one database. */
export interface PgPool extends PgSession {
  /** Runs `fn` in one transaction: COMMIT when its promise resolves, ROLLBACK when it rejects. */
  transaction<T>(fn: (tx: PgTransaction) => Promise<T>): Promise<T>;
  reserve(): Promise<PgReserved>;
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

function session(root: Sql, sql: Sql | postgres.TransactionSql | postgres.ReservedSql): PgSession {
  return { query: async (text, params = []) => toRows(await sql.unsafe(text, bind(root, params))) };
}

/**
 * COPY FROM STDIN in a transaction. The driver reports a COPY's success on
 * its stream (`finish`), but when the server refuses the data after the
 * stream ended, that event never comes and the error goes nowhere. So a
 * statement follows on the same connection once the driver has left copy
 * mode (it does so in the stream's final step, a tick after `end`): the
 * server runs it only after the COPY, and in a transaction the COPY aborted
 * it fails, which rejects here (with the COPY's own error) and rolls the
 * transaction back.
 */
function copySession(root: Sql, tx: postgres.TransactionSql): PgTransaction {
  return {
    ...session(root, tx),
    async copyIn(text, data) {
      const copy = tx.unsafe(text);
      // The COPY's own error (a duplicate key, say) reaches only its already settled query: keep it to report.
      let refused: unknown;
      const settle = (copy as unknown as { reject: (e: unknown) => void }).reject;
      (copy as unknown as { reject: (e: unknown) => void }).reject = (e) => {
        refused = e;
        settle(e);
      };
      const stream = await copy.writable();
      stream.on("error", () => {}); // reported by the statement after it
      stream.end(data);
      await new Promise((resolve) => setImmediate(resolve));
      try {
        await tx.unsafe("SELECT 1");
      } catch (e) {
        throw refused ?? e;
      }
    },
  };
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

/** Opens a pool; no connection is made before the first query. */
export function openPostgres(url: string, options: PgOptions): PgPool {
  const sql = postgres(url, {
    max: options.max,
    connect_timeout: options.connectTimeoutS,
    idle_timeout: 0,
    onnotice: () => {},
    types: { bigint: BIGINT_AS_NUMBER } as never,
    connection: { application_name: options.applicationName },
  });
  return {
    ...session(sql, sql),
    transaction: (fn) => sql.begin((tx) => fn(copySession(sql, tx))) as Promise<never>,
    reserve: async () => {
      const r = await sql.reserve();
      return { ...session(sql, r), release: () => r.release() };
    },
    cursor: async (text, params, size, each) => {
      await sql.unsafe(text, bind(sql, params)).cursor(size, (rows) => void each(toRows(rows)));
    },
    end: (timeoutS = 5) => sql.end({ timeout: timeoutS }),
  };
}
