/**
 * Schedules' rows in PostgreSQL (docs/schedules.md): one row per schedule
 * for the whole cluster. A node writes a row inside the commit that adds the
 * slot's jobs, after locking it (`FOR UPDATE`): when another node moved the
 * row meanwhile (its `next_slot` is no longer the one this node expected),
 * the row and its jobs are left out, so one node fires each slot.
 *
 * @module
 */
import type { PgSession } from "../runtime/postgres.ts";
import type { ScheduleRow } from "./job_store.ts";

export async function readSchedules(db: PgSession): Promise<ScheduleRow[]> {
  const rows = await db.query("SELECT name, next_slot, state FROM gearbox_schedule ORDER BY name");
  return rows.map((r) => ({ name: String(r.name), nextSlot: Number(r.next_slot), state: String(r.state) }));
}

/** Writes the rows whose expectation holds and deletes `drops`, in `tx`; gives the names of the rows left out. */
export async function writeSchedules(tx: PgSession, rows: readonly ScheduleRow[], drops: readonly string[]): Promise<string[]> {
  const lost: string[] = [];
  for (const r of rows) {
    if (r.expect === undefined) {
      const made = await tx.query(
        "INSERT INTO gearbox_schedule (name, next_slot, state) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name",
        [r.name, r.nextSlot, r.state],
      );
      if (made.length === 0) lost.push(r.name);
      continue;
    }
    const [held] = await tx.query("SELECT next_slot FROM gearbox_schedule WHERE name = $1 FOR UPDATE", [r.name]);
    if (held === undefined || Number(held.next_slot) !== r.expect) {
      lost.push(r.name);
      continue;
    }
    await tx.query("UPDATE gearbox_schedule SET next_slot = $2, state = $3 WHERE name = $1", [r.name, r.nextSlot, r.state]);
  }
  for (const name of drops) await tx.query("DELETE FROM gearbox_schedule WHERE name = $1", [name]);
  return lost;
}
