/**
 * Scaling on wait time (a job's `target_wait`): how many processes a job
 * needs so that the oldest job waiting for it starts within the target, as
 * a pure function of the oldest job's age (gearbox's `functions` reports
 * when it was submitted), the jobs waiting, and the measured rate of one
 * process (from the durations of its last runs).
 *
 * Rule: n processes clear W waiting jobs in W / (n * rate) seconds, so the
 * need is ceil(W / (rate * target)). When the oldest job is already over
 * the target, at least one process more than now (the rate may be stale).
 * With no rate measured yet and the oldest job over: one per waiting job
 * beyond the busy ones (the depth rule). A job with no process and work
 * waiting gets one at once. `scaling.ts` keeps the result within min/max.
 *
 * @module
 */

/** What the wait rule needs besides the depth rule's input. */
export interface WaitInput {
  /** Age of the oldest job waiting for the job's functions, ms (0: none waits). */
  oldestAgeMs: number;
  targetWaitMs: number;
  /** Jobs one process completes per second, measured; undefined before the first run. */
  ratePerProcess: number | undefined;
}

export interface WaitNeed {
  /** Processes wanted (before min/max). */
  want: number;
  /** ms the oldest job is over the target (negative: under). */
  overMs: number;
  /** The numbers used, in words, for the reason and the log. */
  seen: string;
}

export function waitNeed(w: WaitInput, s: { current: number; busy: number; waiting: number }): WaitNeed {
  const overMs = w.oldestAgeMs - w.targetWaitMs;
  const targetS = w.targetWaitMs / 1000;
  const rate = w.ratePerProcess;
  const byRate = rate !== undefined && rate > 0 ? Math.ceil(s.waiting / (rate * targetS)) : undefined;
  let want = byRate ?? s.current;
  if (overMs > 0 && s.waiting > 0) want = Math.max(want, s.current + 1, byRate === undefined ? s.busy + s.waiting : 0);
  if (s.current === 0 && s.waiting > 0) want = Math.max(want, 1);
  const rateText = rate === undefined ? "rate unknown" : `rate ${rate.toFixed(2)}/s per process`;
  const overText = overMs > 0 ? `over by ${seconds(overMs)} s` : `under by ${seconds(-overMs)} s`;
  const seen = `oldest waited ${seconds(w.oldestAgeMs)} s, target ${targetS} s, ${overText}, ${rateText}`;
  return { want, overMs, seen };
}

/** The wait rule's input for a job with a target_wait when the servers report ages; none otherwise (the depth rule). */
export function waitInputOf(
  targetWaitMs: number | undefined,
  oldestAgeMs: number | undefined,
  ratePerProcess: number | undefined,
): { wait?: WaitInput } {
  if (targetWaitMs === undefined || oldestAgeMs === undefined) return {};
  return { wait: { oldestAgeMs, targetWaitMs, ratePerProcess } };
}

/** ms as seconds, to the hundredth. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}
