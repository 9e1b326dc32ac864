/**
 * Which of a schedule's due slots get a job (docs/schedules.md): the
 * missed-run policy for slots that passed while the server was down or the
 * schedule paused, then the overlap policy while its previous run is still
 * queued or running. Pure: the runner (schedule_runner.ts) acts on the plan.
 *
 * @module
 */
import type { ScheduleConfig } from "../config/serve_schedules.ts";

/** What a round does with its due slots. */
export interface SlotPlan {
  /** Slots whose job is submitted now, oldest first. */
  fire: number[];
  /** Slots dropped by the missed-run policy (or past `max_catch_up`). */
  missed: number;
  /** Slots dropped because the previous run had not finished (`overlap: skip`, or a second one waiting with `queue`). */
  skipped: number;
  /** The slot left waiting for the previous run to end (`overlap: queue`; at most one). */
  queued: number | undefined;
}

/**
 * `due`: the slots at or before now not yet handled, oldest first.
 * `catchUp`: they passed while nobody could fire them (a restart, a resume),
 * so `missed` applies; otherwise they are merely late and all count (up to
 * `max_catch_up`). `busy`: the previous run is still live; `queued`: a slot
 * already waits for it.
 */
export function planSlots(
  def: Pick<ScheduleConfig, "missed" | "max_catch_up" | "overlap">,
  due: readonly number[],
  catchUp: boolean,
  busy: boolean,
  queued: number | undefined,
): SlotPlan {
  let wanted: number[];
  if (!catchUp || def.missed === "all") wanted = due.slice(0, def.max_catch_up);
  else if (def.missed === "once") wanted = due.slice(-1);
  else wanted = [];
  const plan: SlotPlan = { fire: [], missed: due.length - wanted.length, skipped: 0, queued };
  if (def.overlap === "allow") {
    plan.fire = wanted;
    return plan;
  }
  const blocked = busy || queued !== undefined;
  const rest = blocked ? wanted : wanted.slice(1);
  if (!blocked && wanted.length > 0) plan.fire = [wanted[0]!];
  if (def.overlap === "queue" && queued === undefined && rest.length > 0) {
    plan.queued = rest[rest.length - 1];
    plan.skipped = rest.length - 1;
  } else plan.skipped = rest.length;
  return plan;
}
