/**
 * The one way tests wait: `waitUntil` polls a condition with a bound and
 * says what it waited for; `sleep` is for the few waits on something the
 * test does not own (an external process, a peer's own timers), each one
 * justified where it is used. Waits for a deadline the server owns do not
 * sleep: they run the server on a `ManualClock` and advance it
 * (tests/helpers/inproc.ts `withServer({ clock })`).
 */

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Retries `check` until it returns true, polling every `intervalMs`; throws
 * after `timeoutMs` naming `what` and the last detail (a string `check`
 * returned, or the error it threw).
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean | string> | boolean | string,
  timeoutMs = 5000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = "";
  for (;;) {
    try {
      const v = await check();
      if (v === true) return;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what} (last: ${String(last)})`);
    await sleep(intervalMs);
  }
}
