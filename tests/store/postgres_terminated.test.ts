/**
 * A backend terminated under a statement (`pg_terminate_backend`, or every
 * backend at once in a fast shutdown: both send 57P01 and no ReadyForQuery)
 * must not outlive its socket in the driver: the next statement on that
 * connection runs on the new backend, a pool ends at once, and a store
 * whose open raced the terminations rejects with STORE_UNAVAILABLE, closes
 * promptly and lets nothing escape (patches/postgres+3.4.9.patch,
 * docs/runtime.md §9). On a real PostgreSQL (tests/helpers/postgres.ts); the
 * fast shutdown only on the throwaway cluster the tests start.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPostgres } from "../../src/runtime/postgres.ts";
import { openStore } from "../../src/store/open_store.ts";
import { SERVER_LOCK_KEY } from "../../src/store/postgres_schema.ts";
import { NO_RESTART, testPostgres } from "../helpers/postgres.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;
const newDatabase = () => postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip));
const TERMINATE = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1";

/** Records what reaches the process unhandled while `fn` runs. */
async function recordingEscapes(fn: (escaped: unknown[]) => Promise<void>): Promise<void> {
  const escaped: unknown[] = [];
  const record = (e: unknown) => void escaped.push(e);
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
  try {
    await fn(escaped);
  } finally {
    process.off("uncaughtException", record);
    process.off("unhandledRejection", record);
  }
}

test("the statement after one whose backend was terminated runs on a new backend instead of failing with the dead one's error", {
  skip,
}, async () => {
  const url = await newDatabase();
  const admin = openPostgres(url, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-tests" });
  const pool = openPostgres(url, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-victim" });
  try {
    const [first] = await pool.query("SELECT pg_backend_pid() AS pid");
    const sleeping = pool.query("SELECT pg_sleep(30)").then(() => "finished", (e: { code?: string }) => e.code);
    await waitUntil(
      "the sleep runs",
      async () =>
        (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'gearbox-victim' AND query LIKE '%pg_sleep%'"))
          .length === 1,
    );
    await admin.query(TERMINATE, ["gearbox-victim"]);
    assert.equal(await sleeping, "CONNECTION_CLOSED");
    const [next] = await pool.query("SELECT pg_backend_pid() AS pid");
    assert.notEqual(next!.pid, first!.pid);
    const t0 = performance.now();
    await pool.end();
    const ms = performance.now() - t0;
    console.log(`# the pool ended in ${ms.toFixed(0)} ms`);
    assert.ok(ms < 2500, `the pool took ${ms.toFixed(0)} ms to end (its timeout is 5 s)`);
  } finally {
    await pool.end();
    await admin.end();
  }
});

test(
  "a store open whose backend is terminated while it waits for the schema lock rejects with STORE_UNAVAILABLE at once, not after its pool's end timeout",
  {
    skip,
  },
  async () => {
    const url = await newDatabase();
    const holder = openPostgres(url, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-tests" });
    const admin = openPostgres(url, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-tests" });
    const store = openStore(url);
    try {
      const held = await holder.reserve();
      await held.query("SELECT pg_advisory_lock($1::integer, -1)", [SERVER_LOCK_KEY]);
      const opening = store.open().then(() => "opened", (e: { code?: string }) => e.code);
      await waitUntil(
        "the store waits for the schema lock",
        async () =>
          (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'gearbox' AND wait_event_type = 'Lock'")).length ===
            1,
      );
      const t0 = performance.now();
      await admin.query(TERMINATE, ["gearbox"]);
      const outcome = await opening;
      const ms = performance.now() - t0;
      console.log(`# the open rejected ${ms.toFixed(0)} ms after the termination`);
      assert.equal(outcome, "STORE_UNAVAILABLE");
      assert.ok(ms < 2500, `the open took ${ms.toFixed(0)} ms to reject (the store's pools end with a 5 s timeout)`);
      held.release();
    } finally {
      await store.close();
      await holder.end();
      await admin.end();
    }
  },
);

test(
  "store opens on an empty database racing terminations of their backends: each opens or rejects with STORE_UNAVAILABLE, closes promptly, and nothing escapes",
  {
    skip,
    timeout: 20_000,
  },
  async () => {
    const url = await newDatabase();
    const admin = openPostgres(url, { max: 1, connectTimeoutS: 5, applicationName: "gearbox-tests" });
    const outcomes = new Map<string, number>();
    let slowest = 0, slowestOpen = 0;
    try {
      await recordingEscapes(async (escaped) => {
        for (let i = 0; i < 25 && escaped.length === 0; i++) {
          const store = openStore(url);
          const opening = store.open().then(() => "opened", (e: { code?: string }) => e.code ?? String(e));
          // Terminations spread over the open (its migrations' transactions take a few tens of ms here).
          for (let k = 0; k < 3; k++) {
            await sleep(Math.random() * 15);
            await admin.query(TERMINATE, ["gearbox"]);
          }
          const settling = performance.now();
          const outcome = await opening;
          slowestOpen = Math.max(slowestOpen, performance.now() - settling);
          const t0 = performance.now();
          await store.close();
          slowest = Math.max(slowest, performance.now() - t0);
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          await admin.query("DROP VIEW IF EXISTS gearbox_jobs");
          await admin.query("DROP TABLE IF EXISTS gearbox_node, gearbox_job, gearbox_name, gearbox_schema_version");
        }
        await sleep(300); // a reconnect the driver scheduled, and its first statement, come within this
        assert.deepEqual(escaped.map(String), [], "errors no caller could catch (each would have ended the process)");
      });
      console.log(
        `# outcomes ${JSON.stringify(Object.fromEntries(outcomes))}, slowest open after the terminations ${
          slowestOpen.toFixed(0)
        } ms, slowest close ${slowest.toFixed(0)} ms`,
      );
      assert.deepEqual([...outcomes.keys()].filter((o) => o !== "opened" && o !== "STORE_UNAVAILABLE"), []);
      assert.ok((outcomes.get("STORE_UNAVAILABLE") ?? 0) > 0, "the terminations failed some opens");
      // A failed open closes its pools before it rejects: 5 s here was a pool waiting out its end timeout.
      assert.ok(slowestOpen < 2500, `an open took ${slowestOpen.toFixed(0)} ms to settle after the terminations`);
      assert.ok(slowest < 2500, `a close took ${slowest.toFixed(0)} ms (the store's pools end with a 5 s timeout)`);
    } finally {
      await admin.end();
    }
  },
);

test("store opens on an empty database racing a fast shutdown: each rejects with STORE_UNAVAILABLE promptly, and nothing escapes", {
  skip: skip ?? (postgres.ok && !postgres.pg.restart ? NO_RESTART : undefined),
  timeout: 20_000,
}, async () => {
  const restart = postgres.ok ? postgres.pg.restart! : undefined;
  const outcomes: string[] = [];
  let slowest = 0;
  await recordingEscapes(async (escaped) => {
    for (let i = 0; i < 3; i++) {
      const store = openStore(await newDatabase());
      try {
        const opening = store.open().then(() => "opened", (e: { code?: string }) => e.code ?? String(e));
        await sleep(Math.random() * 60); // somewhere in the open: its lock, its migrations' transactions
        await restart!.stop(); // fast: every backend gets 57P01
        const t0 = performance.now();
        outcomes.push(await opening);
        slowest = Math.max(slowest, performance.now() - t0);
      } finally {
        await restart!.start();
        await store.close();
      }
    }
    assert.deepEqual(escaped.map(String), [], "errors no caller could catch (each would have ended the process)");
  });
  console.log(`# outcomes ${JSON.stringify(outcomes)}, slowest open after the shutdown ${slowest.toFixed(0)} ms`);
  assert.deepEqual(outcomes.filter((o) => o !== "opened" && o !== "STORE_UNAVAILABLE"), []);
  assert.ok(slowest < 2500, `an open took ${slowest.toFixed(0)} ms to settle after the shutdown (its pools end with a 5 s timeout)`);
});
