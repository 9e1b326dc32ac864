import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { retryDelay } from "../../src/core/retry_policy.ts";
import { coreSettings } from "../../src/server/server_settings.ts";

describe("retry delays", () => {
  const fixed = { ...coreSettings().retry, maxRetries: 5, delayMs: 1000 };
  test("a fixed delay stays the same for every retry", () => {
    assert.deepEqual([1, 2, 3].map((n) => retryDelay(fixed, n, () => 0.5)), [1000, 1000, 1000]);
  });
  test("an exponential delay doubles and stops at the cap", () => {
    const exp = { ...fixed, backoff: "exponential" as const, maxDelayMs: 5000 };
    assert.deepEqual([1, 2, 3, 4, 60].map((n) => retryDelay(exp, n, () => 0.5)), [1000, 2000, 4000, 5000, 5000]);
  });
  test("jitter spreads the delay evenly within ±jitter", () => {
    const j = { ...fixed, jitter: 0.2 };
    assert.equal(retryDelay(j, 1, () => 0), 800);
    assert.equal(retryDelay(j, 1, () => 0.5), 1000);
    assert.equal(retryDelay(j, 1, () => 0.999999), 1200);
  });
});
