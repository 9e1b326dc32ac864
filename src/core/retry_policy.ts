/**
 * TheSchwartz's retry rule for background jobs: a failed job runs again
 * after a delay until it has failed `maxRetries` times, then it fails for
 * good. Pure: randomness (for jitter) is passed in.
 *
 * @module
 */

export interface RetryPolicy {
  /** Retries after the first failure; 0 = fail at once (gearmand's behaviour). */
  maxRetries: number;
  /** Delay before the first retry, in ms. */
  delayMs: number;
  /** `exponential` doubles the delay with each failure, up to `maxDelayMs`. */
  backoff: "fixed" | "exponential";
  maxDelayMs: number;
  /** Spread as a fraction of the delay (0.2 = ±20%), so retries do not stampede. */
  jitter: number;
}

/** Delay before retry number `failures` (1 for the first retry). */
export function retryDelay(policy: RetryPolicy, failures: number, random: () => number): number {
  const base = policy.backoff === "exponential"
    ? Math.min(policy.delayMs * 2 ** Math.min(failures - 1, 40), policy.maxDelayMs)
    : Math.min(policy.delayMs, policy.maxDelayMs);
  if (policy.jitter <= 0 || base === 0) return base;
  const spread = base * Math.min(policy.jitter, 1);
  return Math.max(0, Math.round(base - spread + 2 * spread * random()));
}
