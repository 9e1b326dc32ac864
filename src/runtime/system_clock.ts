/**
 * The real clock and timers of the running process: wall-clock ms and the
 * runtime's setTimeout. It is the default `Clock` of `createServer`
 * (src/server/clock.ts); a test or an embedder passes a manual one instead.
 *
 * @module
 */

/** The wall clock and the runtime's timers, in the shape of the server's `Clock`. */
export const systemClock = {
  now: (): number => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
};
