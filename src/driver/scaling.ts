/**
 * The observer's decision for one job, as a pure function of what it saw:
 * how many processes to start and which idle ones to stop, with the reason
 * in words for the log. The driver applies it (and delays starts of a job
 * that keeps crashing).
 *
 * Rules: want = busy + waiting (or, for a job with a `target_wait` on a
 * server that reports the oldest job's age, what `wait_target.ts` says),
 * kept between min and max. Start the
 * difference. Above want, with nothing waiting, stop processes idle for
 * max_idle_time (0: at once, as Gearman::Driver), never going under min.
 * Above max (lowered from the
 * console), stop the surplus, idle ones first, then busy ones (which finish
 * their job before they exit).
 *
 * @module
 */
import { type WaitInput, waitNeed } from "./wait_target.ts";

/** What the observer knows about one job. */
export interface ScaleInput {
  min: number;
  max: number;
  /** Live processes not already asked to stop. */
  current: number;
  /** Processes running a job now. */
  busy: number;
  /** Jobs of the job's functions waiting on the servers. */
  waiting: number;
  /** Idle processes and for how long, in ms. */
  idle: readonly { pid: number; idleMs: number }[];
  /** Processes running a job (stopped last: they finish the job first). */
  busyPids: readonly number[];
  /** How long a process above min may be idle; 0 = none at all (stopped at once). */
  maxIdleMs: number;
  /** A job with a target_wait, when the servers report the oldest job's age: scale on wait time. */
  wait?: WaitInput;
}

export interface ScaleDecision {
  start: number;
  /** Pids to stop (gracefully). */
  stop: number[];
  /** Why, in words; empty when nothing changes. */
  reason: string;
  /** Scaling on wait time: ms the oldest job was over its target (negative: under). */
  overMs?: number;
}

export function decideScale(s: ScaleInput): ScaleDecision {
  const need = s.wait ? waitNeed(s.wait, s) : undefined;
  const want = Math.min(s.max, Math.max(s.min, need ? need.want : s.busy + s.waiting));
  const seen = `${s.waiting} waiting, ${s.busy} busy, ${s.current} running (min ${s.min}, max ${s.max})` +
    (need ? `; ${need.seen}` : "");
  if (s.current < want) {
    const start = want - s.current;
    const why = s.current < s.min && s.waiting === 0
      ? "below min"
      : need
      ? (need.overMs > 0 ? "oldest job over target_wait" : "target_wait would be missed")
      : "jobs waiting";
    const reason = `${why}: ${seen}; starting ${start} (${s.current} -> ${s.current + start})`;
    return { start, stop: [], reason, ...(need ? { overMs: need.overMs } : {}) };
  }
  const byIdle = [...s.idle].sort((a, b) => b.idleMs - a.idleMs);
  if (s.current > s.max) {
    const surplus = s.current - s.max;
    const stop = [...byIdle.map((p) => p.pid), ...s.busyPids].slice(0, surplus);
    return { start: 0, stop, reason: `above max: ${seen}; stopping ${stop.length} (idle first; busy ones finish their job)` };
  }
  if (s.waiting === 0 && s.current > s.min) {
    const stale = byIdle.filter((p) => p.idleMs >= s.maxIdleMs);
    const stop = stale.slice(0, s.current - s.min).map((p) => p.pid);
    if (stop.length > 0) {
      const over = s.maxIdleMs === 0 ? "with no job (max_idle_time 0)" : `idle over ${Math.round(s.maxIdleMs / 1000)} s`;
      return { start: 0, stop, reason: `idle: ${seen}; stopping ${stop.length} ${over}` };
    }
  }
  return { start: 0, stop: [], reason: "" };
}
