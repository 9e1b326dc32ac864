/**
 * `metrics_listen`'s address: HOST:PORT parsed, and the exposure rule (a
 * non-loopback host needs metrics_insecure) applied with errors that name
 * the key and what is wrong.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { metricsAddress } from "../../src/config/metrics_address.ts";
import { isLoopback } from "../../src/config/serve_listeners.ts";
import { ConfigError } from "../../src/config/setting.ts";

describe("metrics_listen", () => {
  test("loopback addresses are accepted without metrics_insecure", () => {
    const cases: [string, string, number][] = [
      ["127.0.0.1:9464", "127.0.0.1", 9464],
      ["localhost:0", "localhost", 0],
      ["[::1]:9464", "::1", 9464],
      ["127.1.2.3:65535", "127.1.2.3", 65535],
    ];
    for (const [value, host, port] of cases) assert.deepEqual(metricsAddress(value, false), { host, port, exposed: false }, value);
  });

  test("a non-loopback address is refused unless metrics_insecure, which marks it exposed", () => {
    for (const value of ["0.0.0.0:9464", "10.1.2.3:9464", "[::]:9464", "metrics.example:9464"]) {
      assert.throws(
        () => metricsAddress(value, false),
        (e: Error) => e instanceof ConfigError && /metrics_listen: .* metrics_insecure: true/.test(e.message),
      );
      assert.equal(metricsAddress(value, true).exposed, true, value);
    }
    assert.ok(!isLoopback("128.0.0.1"));
  });

  test("values that are not HOST:PORT are refused, naming the key and the value", () => {
    for (const value of ["9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "::1:9464", "host:port", " 127.0.0.1:1"]) {
      assert.throws(
        () => metricsAddress(value, false),
        (e: Error) =>
          e instanceof ConfigError &&
          e.message === `metrics_listen: expected HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464), got ${JSON.stringify(value)}`,
        value,
      );
    }
  });
});
