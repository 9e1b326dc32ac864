/**
 * A copy of a running SQLite store into a new store file, a few thousand
 * rows a turn of the event loop so the server keeps serving. Which jobs it
 * holds: those that existed when the copy began (ids up to the largest then)
 * and still exist when it ends, each in its state at the end. Changes the
 * server commits while the copy runs are logged by the store and applied to
 * the copy at the end; jobs created meanwhile are left out.
 *
 * Rows go over as they are, checksums included, once they pass them; a row
 * that fails is left out and counted.
 *
 * @module
 */
import type { Database, SqlValue } from "../runtime/sqlite.ts";
import type { BackupResult } from "./job_store.ts";
import { dataIntact, FULL_COLUMNS, FULL_ROW, metaIntact, UPDATE_SQL, workloadOf } from "./job_rows.ts";
import { transaction } from "./sqlite_file.ts";

/** What the live store committed while a copy ran: update rows (as {@link UPDATE_SQL} binds them) and removed ids. */
export interface ChangeLog {
  updates: SqlValue[][];
  removes: number[];
}

/** Rows copied per turn of the event loop: a few milliseconds of work. */
const ROWS_PER_TURN = 2000;
const COLUMN_NAMES = FULL_COLUMNS.split(", ");

/** Copies `source` into the open, empty store `target`; `pause` lets the server run between chunks. */
export async function copyRunningStore(
  source: Database,
  target: Database,
  log: ChangeLog,
  pause: () => Promise<void>,
): Promise<BackupResult> {
  const last = Number(source.prepare("SELECT max(id) AS m FROM job").get()?.m ?? 0);
  // Schedules as they are when the copy begins, like its jobs: a slot fired later is in neither,
  // and fires again from the copy by its missed-run policy (docs/schedules.md §5).
  const insertSchedule = target.prepare("INSERT INTO schedule (name, next_slot, state) VALUES (?, ?, ?)");
  for (const r of source.prepare("SELECT name, next_slot, state FROM schedule").all()) insertSchedule.run(r.name!, r.next_slot!, r.state!);
  const read = source.prepare(`SELECT ${FULL_COLUMNS} FROM job WHERE id > ? AND id <= ? ORDER BY id LIMIT ${ROWS_PER_TURN}`);
  const insert = target.prepare(`INSERT INTO job (${FULL_COLUMNS}) VALUES (${FULL_ROW})`);
  let cursor = -Number.MAX_SAFE_INTEGER;
  let damaged = 0;
  for (;;) {
    const rows = read.all(cursor, last);
    if (rows.length === 0) break;
    transaction(target, () => {
      for (const r of rows) {
        const data = workloadOf(r.data);
        if (!metaIntact(r) || !dataIntact(data, r.data_crc)) {
          damaged++;
          continue;
        }
        insert.run(...COLUMN_NAMES.map((c) => (c === "data" ? data : r[c] ?? null)));
      }
    });
    cursor = Number(rows[rows.length - 1]!.id);
    await pause();
  }
  // No await from here on: the log cannot grow while it is applied.
  const update = target.prepare(UPDATE_SQL);
  const remove = target.prepare("DELETE FROM job WHERE id = ?");
  transaction(target, () => {
    for (const u of log.updates) update.run(...u);
    for (const id of log.removes) remove.run(id);
  });
  const jobs = Number(target.prepare("SELECT count(*) AS n FROM job").get()?.n ?? 0);
  return { jobs, damaged };
}
