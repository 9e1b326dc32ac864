/**
 * The PostgreSQL schema as numbered migrations, compiled into the binary,
 * and what opening a database checks before it writes anything: the schema
 * gearbox works in (the connection's `current_schema()`, `public` unless the
 * role's search_path says otherwise) holds only gearbox's tables and its
 * version is one this gearbox knows.
 *
 * The cluster (docs/cluster.md): every job row carries the `node` that owns
 * it, in its key; migration 2 adds the node table (numbers, heartbeats,
 * adoption), migration 3 the index that keeps a unique live on one row of
 * the whole cluster, migration 5 rows that name their node, function and
 * handle prefix by number (postgres_compact.ts). Several servers share a database, one process per node
 * id (postgres_nodes.ts holds the per-node lock).
 *
 * @module
 */
import type { PgSession } from "../runtime/postgres.ts";
import { StoreError, type StoreNote } from "./job_store.ts";
import { UNIQUE_MIGRATION } from "./postgres_uniques.ts";
import { COMPACT_MIGRATION, JOB_ROW_COLUMNS } from "./postgres_compact.ts";

/** Our tables: nothing else may live in the schema we use. */
export const OUR_TABLES = [
  "gearbox_schema_version",
  "gearbox_job",
  "gearbox_node",
  "gearbox_schedule",
  "gearbox_name",
  "gearbox_jobs",
] as const;
/** The first key of the session advisory lock ("GBX1", as SQLite's application_id) a node holds; the second is its number. */
export const SERVER_LOCK_KEY = 0x47425831;

/** Migration N (from 1) is `PG_MIGRATIONS[N - 1]`: its statements, run in one transaction with its version row. */
export const PG_MIGRATIONS: readonly (string | readonly string[])[] = [
  // 1: the job table of SQLite's migrations 1 to 4 in one, keyed by (node, id).
  `CREATE TABLE gearbox_job (
     node         text     NOT NULL DEFAULT '',
     id           bigint   NOT NULL,
     handle       text     NOT NULL,
     function     text     NOT NULL,${JOB_ROW_COLUMNS},
     PRIMARY KEY (node, id)
   )`,
  // 2: the nodes of a cluster. `number` gives a node its id range (postgres_nodes.ts); `heartbeat_at`
  // is the database's time; `state` is live or adopted (dead is a live row past the lease). The rows
  // migration 1 wrote belong to node '' (number 0, ids below 2^40), which heartbeats no more: the
  // first node to look adopts them.
  [
    `CREATE TABLE gearbox_node (
     node         text        PRIMARY KEY,
       number       integer     NOT NULL UNIQUE,
       address      text        NOT NULL DEFAULT '',
       started_at   timestamptz NOT NULL DEFAULT now(),
       heartbeat_at timestamptz NOT NULL DEFAULT now(),
       state        text        NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'adopted')),
       adopted_by   text,
       adopted_at   timestamptz
     )`,
    `INSERT INTO gearbox_node (node, number, heartbeat_at) SELECT '', 0, 'epoch' WHERE EXISTS (SELECT 1 FROM gearbox_job WHERE node = '')`,
  ],
  // 3: cluster-wide uniques: at most one live row per function and unique (postgres_uniques.ts; twins
  // already stored are kept and marked, so the migration never fails on them).
  UNIQUE_MIGRATION,
  // 4: recurring schedules' progress, one row per schedule for the whole cluster (postgres_schedules.ts):
  // the node that fires a slot locks the row, so one node fires each slot.
  `CREATE TABLE gearbox_schedule (
     name       text   PRIMARY KEY,
     next_slot  bigint NOT NULL,
     state      text   NOT NULL
   )`,
  // 5: compact rows: the node, function and handle prefix by number (postgres_compact.ts), the table rebuilt.
  COMPACT_MIGRATION,
];

/** What a migration that takes long says before it runs. */
const MIGRATION_NOTES: Record<number, Record<string, string>> = {
  5: { rewrites: "gearbox_job, in one transaction (about 8 s a million jobs on 2 cores); other nodes wait to start" },
};

/**
 * Runs `fn` holding the schema lock (a second key of {@link SERVER_LOCK_KEY}),
 * so nodes starting together check and migrate the schema one at a time.
 */
export async function underSchemaLock<T>(conn: PgSession, fn: () => Promise<T>): Promise<T> {
  await conn.query("SELECT pg_advisory_lock($1::integer, -1)", [SERVER_LOCK_KEY]);
  try {
    return await fn();
  } finally {
    await conn.query("SELECT pg_advisory_unlock($1::integer, -1)", [SERVER_LOCK_KEY]);
  }
}

/** Refuses a schema that holds anything but our tables, naming what it found; writes nothing. */
export async function refuseForeign(db: PgSession, display: string): Promise<void> {
  const rows = await db.query(
    `SELECT c.relname AS name, c.relkind AS kind, n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND c.relname NOT IN (${
      OUR_TABLES.map((t) => `'${t}'`).join(", ")
    })
     ORDER BY c.relname`,
  );
  if (rows.length === 0) return;
  const names = rows.slice(0, 10).map((r) => String(r.name)).join(", ") + (rows.length > 10 ? `, ... (${rows.length} in all)` : "");
  throw new StoreError(
    "STORE_CORRUPT",
    `${display} is not a gearbox store: schema ${String(rows[0]!.schema)} holds other tables (${names}); refusing to touch it. ` +
      "Give gearbox a database (or a role whose search_path names a schema) of its own",
  );
}

/**
 * Runs the migrations this database has not had yet, each in its own
 * transaction, telling `note` before and after each of an existing schema
 * (a fresh database's are instant); gives the version found.
 */
export async function migrate(
  db: PgSession,
  inTransaction: (fn: (tx: PgSession) => Promise<void>) => Promise<void>,
  display: string,
  note: StoreNote = () => {},
): Promise<number> {
  const version = await schemaVersion(db);
  if (version > PG_MIGRATIONS.length) {
    throw new StoreError("STORE_CORRUPT", `${display} has schema version ${version}, newer than this gearbox (${PG_MIGRATIONS.length})`);
  }
  for (let v = version; v < PG_MIGRATIONS.length; v++) {
    const t0 = performance.now();
    if (version > 0) note("migrating the store's schema", { store: display, from: v, to: v + 1, ...MIGRATION_NOTES[v + 1] });
    await inTransaction(async (tx) => {
      for (const statement of ([] as string[]).concat(PG_MIGRATIONS[v]!)) await tx.query(statement);
      await tx.query("INSERT INTO gearbox_schema_version (version) VALUES ($1)", [v + 1]);
    });
    if (version > 0) note("migrated the store's schema", { store: display, version: v + 1, ms: Math.round(performance.now() - t0) });
  }
  return version;
}

/** Drops our tables again when they hold no job (what `discard` undoes after a failed start on an empty database). */
export async function dropIfEmpty(db: PgSession): Promise<void> {
  const [row] = await db.query("SELECT NOT EXISTS (SELECT 1 FROM gearbox_job) AS empty");
  if (row?.empty !== true) return;
  await db.query("DROP VIEW gearbox_jobs");
  await db.query("DROP TABLE gearbox_schedule, gearbox_node, gearbox_job, gearbox_name, gearbox_schema_version");
}

/** The highest migration applied; 0 for an empty schema (the version table is created then). */
async function schemaVersion(db: PgSession): Promise<number> {
  await db.query(
    `CREATE TABLE IF NOT EXISTS gearbox_schema_version (
       version    integer     PRIMARY KEY,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const [row] = await db.query("SELECT coalesce(max(version), 0) AS v FROM gearbox_schema_version");
  return Number(row?.v ?? 0);
}
