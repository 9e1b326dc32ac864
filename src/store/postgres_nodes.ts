/**
 * The cluster's side of the PostgreSQL store (docs/cluster.md): a node's
 * registration (its permanent number, hence its id range), the per-node
 * advisory lock that refuses a second process with the same node id,
 * heartbeats, adoption of dead nodes' jobs and the `nodes` listing. Every
 * time compared against a lease is the database's (`now()`), never a node's
 * clock, so nodes whose clocks disagree still agree on who is dead.
 *
 * @module
 */
import type { PgRow, PgSession } from "../runtime/postgres.ts";
import type { SqlValue } from "../runtime/sqlite.ts";
import type { Adoption, IdRange, NodeRow } from "./cluster_store.ts";
import { dataIntact, metaIntact, REPLAY_COLUMNS, toJob } from "./job_rows.ts";
import { StoreError } from "./job_store.ts";
import { SERVER_LOCK_KEY } from "./postgres_schema.ts";

/** Ids per node number: ids are `number * ID_RANGE + n`. */
export const ID_RANGE = 2 ** 40;
/** The largest node number whose range stays below 2^53 (ids are JavaScript numbers). */
export const MAX_NODE_NUMBER = 2 ** 53 / ID_RANGE - 1;

/**
 * Gives the node its number (a new one the first time it is seen: one more
 * than the largest, under a table lock so two new nodes never take the same).
 */
export async function nodeNumber(inTransaction: <T>(fn: (tx: PgSession) => Promise<T>) => Promise<T>, node: string): Promise<number> {
  return await inTransaction(async (tx) => {
    await tx.query("LOCK TABLE gearbox_node IN SHARE ROW EXCLUSIVE MODE");
    await tx.query(
      `INSERT INTO gearbox_node (node, number) SELECT $1, coalesce(max(number), 0) + 1 FROM gearbox_node
       ON CONFLICT (node) DO NOTHING`,
      [node],
    );
    const [row] = await tx.query("SELECT number FROM gearbox_node WHERE node = $1", [node]);
    return Number(row!.number);
  });
}

/**
 * Takes the node's advisory lock on the store's own connection (held while
 * it is open); refuses when another process runs as the same node. Gives
 * the backend (session) that holds it: a database restart ends that session.
 */
export async function lockNode(conn: PgSession, node: string, number: number, display: string): Promise<unknown> {
  if (number > MAX_NODE_NUMBER) {
    throw new StoreError(
      "STORE_FULL",
      `${display} has had ${number - 1} nodes; a node number past ${MAX_NODE_NUMBER} has no id range left`,
    );
  }
  const [row] = await conn.query("SELECT pg_try_advisory_lock($1::integer, $2::integer) AS ok, pg_backend_pid() AS pid", [
    SERVER_LOCK_KEY,
    number,
  ]);
  if (row?.ok !== true) {
    throw new StoreError(
      "STORE_LOCKED",
      `${display} is in use by another gearbox serve with node id ${JSON.stringify(node)} (give each server its own --node-id)`,
    );
  }
  return row.pid;
}

/**
 * Marks the node live again (a restart: the jobs adopted meanwhile are no
 * longer its rows, so its replay does not see them) and finds the highest id
 * of its range still stored, whichever node owns that row now.
 */
export async function registerLive(db: PgSession, node: string, number: number): Promise<IdRange> {
  await db.query(
    "UPDATE gearbox_node SET state = 'live', adopted_by = NULL, adopted_at = NULL, started_at = now(), heartbeat_at = now() WHERE node = $1",
    [node],
  );
  const base = number * ID_RANGE;
  const [row] = await db.query(
    `SELECT coalesce(max((SELECT max(id) FROM gearbox_job j WHERE j.node = n.number AND j.id >= $1 AND j.id < $2)), 0) AS highest
     FROM gearbox_node n`,
    [base, base + ID_RANGE],
  );
  return { base, size: ID_RANGE, highest: Number(row?.highest ?? 0) };
}

/** The heartbeat: false when the node's row is no longer live (another node adopted its jobs). */
export async function heartbeat(db: PgSession, node: string, address: string): Promise<boolean> {
  const rows = await db.query(
    "UPDATE gearbox_node SET heartbeat_at = now(), address = $2 WHERE node = $1 AND state = 'live' RETURNING node",
    [node, address],
  );
  return rows.length === 1;
}

/**
 * One statement, so one transaction: the dead nodes' rows are locked with
 * SKIP LOCKED (a node another adopter holds is left to it; once it commits
 * the row is no longer live, so it is adopted once), marked adopted by this
 * node, and their jobs moved to it (`$3`, its number), returned without
 * workloads (read back by id) except a `-` unique's, with their function
 * names and handles (postgres_names.ts). A dead node with no job still gives one row
 * (`dead_node`, the job columns null), so its death is logged too.
 */
export const ADOPT_SQL = `WITH dead AS (
    SELECT node FROM gearbox_node
    WHERE state = 'live' AND node <> $1 AND heartbeat_at < now() - make_interval(secs => $2::double precision / 1000)
    FOR UPDATE SKIP LOCKED
  ), marked AS (
    UPDATE gearbox_node n SET state = 'adopted', adopted_by = $1, adopted_at = now() FROM dead WHERE n.node = dead.node
    RETURNING n.node, n.number
  ), moved AS (
    UPDATE gearbox_job j SET node = $3 FROM marked WHERE j.node = marked.number
    RETURNING marked.node AS from_node, ${
  REPLAY_COLUMNS.split(", ").map((c) => `j.${c === "handle" ? "prefix" : c}`).join(", ")
}, CASE WHEN j.uniq = '-' THEN j.data END AS data, j.data_crc
  )
  SELECT marked.node AS dead_node, ${
  REPLAY_COLUMNS.split(", ").map((c) =>
    c === "handle" ? "p.name || ':' || moved.id AS handle" : c === "function" ? "f.name AS function" : `moved.${c}`
  ).join(", ")
}, moved.data, moved.data_crc
  FROM marked LEFT JOIN moved ON moved.from_node = marked.node
    LEFT JOIN gearbox_name f ON f.number = moved.function LEFT JOIN gearbox_name p ON p.number = moved.prefix`;

/** {@link ADOPT_SQL}'s rows as one adoption per dead node: its jobs, and the ids of rows that fail their checksums. */
export function adoptions(rows: readonly PgRow[]): Adoption[] {
  const byNode = new Map<string, Adoption>();
  for (const r of rows) {
    const row = r as Record<string, SqlValue>;
    const from = String(r.dead_node);
    let adoption = byNode.get(from);
    if (!adoption) byNode.set(from, adoption = { from, jobs: [], damaged: [] });
    if (r.id === null) continue; // a dead node that held no job
    const job = toJob(row);
    if (metaIntact(row) && (job.data === undefined || dataIntact(job.data, row.data_crc))) adoption.jobs.push(job);
    else adoption.damaged.push(job.id);
  }
  return [...byNode.values()];
}

/** Every node with its heartbeat's age and whether it is past the lease (`$1` ms), and the job rows it owns. */
export const NODES_SQL = `SELECT n.node, n.address, n.state, n.adopted_by,
    (extract(epoch FROM now() - n.heartbeat_at) * 1000)::double precision AS age_ms,
    n.heartbeat_at < now() - make_interval(secs => $1::double precision / 1000) AS stale,
    (SELECT count(*) FROM gearbox_job j WHERE j.node = n.number)::integer AS jobs
  FROM gearbox_node n ORDER BY n.node`;

/** A `nodes` row as read. */
export function nodeRow(r: Record<string, unknown>): NodeRow {
  const adopted = r.state === "adopted";
  return {
    node: String(r.node),
    address: String(r.address ?? ""),
    heartbeatAgeMs: Math.max(0, Number(r.age_ms ?? 0)),
    jobs: Number(r.jobs ?? 0),
    state: adopted ? "adopted" : r.stale === true ? "dead" : "live",
    adoptedBy: adopted ? String(r.adopted_by ?? "") : undefined,
  };
}
