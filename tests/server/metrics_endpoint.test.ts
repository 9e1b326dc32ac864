/**
 * `metrics_listen`'s endpoint over real HTTP on 127.0.0.1: the page for a
 * scripted workload, /health, /ready through start, drain and store loss,
 * and what else it answers.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type GearboxServer, ManualClock, MemoryStore, type StoreBatch, type StoredJob } from "../../mod.ts";
import { MetricsEndpoint } from "../../src/server/metrics_endpoint.ts";
import { Logger } from "../../src/log/logger.ts";
import { StoreError } from "../../src/store/job_store.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { waitUntil } from "../helpers/wait.ts";

/** A memory store whose replay waits for `open()` to be released, and whose commits fail as unreachable while `down`. */
class TestStore extends MemoryStore {
  down = false;
  #release: (() => void) | undefined;
  readonly #opened: Promise<void>;
  constructor(gated = false) {
    super();
    this.#opened = gated ? new Promise((r) => (this.#release = r)) : Promise.resolve();
  }
  release(): void {
    this.#release?.();
  }
  override async open(): Promise<Iterable<StoredJob>> {
    await this.#opened;
    return super.open();
  }
  override commit(batch: StoreBatch): ReturnType<MemoryStore["commit"]> {
    if (this.down) return Promise.reject(new StoreError("STORE_UNAVAILABLE", "test store: connection refused"));
    return super.commit(batch);
  }
}

const LOOPBACK = { host: "127.0.0.1", port: 0, exposed: false };

async function get(endpoint: MetricsEndpoint, path: string, method = "GET"): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${endpoint.port}${path}`, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") ?? "" };
}

async function submit(port: number, fn: string, count: number): Promise<RawConn> {
  const c = await RawConn.connect(port);
  for (let i = 0; i < count; i++) c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, `${fn}-${i}`, "x");
  for (let i = 0; i < count; i++) await c.expectPacket(Cmd.JOB_CREATED);
  return c;
}

async function withEndpoint(
  store: TestStore,
  fn: (server: GearboxServer, endpoint: MetricsEndpoint, clock: ManualClock) => Promise<void>,
): Promise<void> {
  const clock = new ManualClock(1_000_000);
  const server = createServer({ port: 0, logLevel: "silent", storeInstance: store, clock });
  const endpoint = await MetricsEndpoint.start(server, LOOPBACK);
  try {
    await fn(server, endpoint, clock);
  } finally {
    store.release();
    await server.stop();
    await endpoint.close();
  }
}

describe("the metrics endpoint", () => {
  test("gearbox_connections counts every connection under all, and each under the roles its listener gives", async () => {
    const server = createServer({
      store: "memory:",
      logLevel: "silent",
      listeners: [{ listen: "127.0.0.1:0" }, { listen: "127.0.0.1:0", roles: ["worker"] }],
    });
    await server.start();
    const endpoint = await MetricsEndpoint.start(server, LOOPBACK);
    const ports = server.addresses.map((a) => Number(a.slice(a.lastIndexOf(":") + 1)));
    const conns = await Promise.all([RawConn.connect(ports[0]!), RawConn.connect(ports[1]!), RawConn.connect(ports[1]!)]);
    try {
      for (const c of conns) c.sendPacket(Cmd.ECHO_REQ, "x");
      for (const c of conns) await c.expectPacket(Cmd.ECHO_RES);
      const lines = (await get(endpoint, "/metrics")).body.split("\n").filter((l) => l.startsWith("gearbox_connections{"));
      assert.deepEqual(lines.sort(), [
        'gearbox_connections{role="admin"} 1',
        'gearbox_connections{role="admin-read"} 1',
        'gearbox_connections{role="all"} 3',
        'gearbox_connections{role="client"} 1',
        'gearbox_connections{role="worker"} 3',
      ]);
    } finally {
      for (const c of conns) c.close();
      await server.stop();
      await endpoint.close();
    }
  });

  test('3 queued background jobs of f show as gearbox_jobs_queued{function="f",priority="normal"} 3, with their age', async () => {
    await withEndpoint(new TestStore(), async (server, endpoint, clock) => {
      await server.start();
      const c = await submit(server.port, "f", 3);
      clock.advance(2_500);
      const page = await get(endpoint, "/metrics");
      assert.equal(page.status, 200);
      assert.equal(page.type, "text/plain; version=0.0.4; charset=utf-8");
      const lines = page.body.split("\n");
      for (
        const want of [
          'gearbox_jobs_queued{function="f",priority="high"} 0',
          'gearbox_jobs_queued{function="f",priority="normal"} 3',
          'gearbox_jobs_queued{function="f",priority="low"} 0',
          'gearbox_jobs_running{function="f"} 0',
          'gearbox_jobs_scheduled{function="f"} 0',
          'gearbox_workers{function="f"} 0',
          'gearbox_oldest_waiting_seconds{function="f"} 2.5',
          "gearbox_functions 1",
          'gearbox_connections{role="all"} 1',
          'gearbox_connections{role="client"} 1',
          'gearbox_connections{role="admin"} 1',
          "gearbox_ready 1",
          "# TYPE gearbox_jobs_queued gauge",
          "# TYPE process_cpu_seconds_total counter",
        ]
      ) assert.ok(lines.includes(want), `${want}\n--- page:\n${page.body}`);
      assert.match(page.body, /^process_resident_memory_bytes [1-9]\d+$/m);
      assert.match(page.body, /^gearbox_event_loop_lag_seconds \d/m);
      const started = Number(/^process_start_time_seconds (\S+)$/m.exec(page.body)?.[1]);
      assert.ok(started > Date.now() / 1000 - 3600 && started <= Date.now() / 1000, `process_start_time_seconds ${started}`);
      c.close();
    });
  });

  test("a foreground job waiting for a worker shows its workload pool page in gearbox_workload_pool_bytes, and payload memory stays 0", async () => {
    await withEndpoint(new TestStore(), async (server, endpoint) => {
      await server.start();
      const before = await get(endpoint, "/metrics");
      assert.match(before.body, /^gearbox_workload_pool_bytes 0$/m);
      const c = await RawConn.connect(server.port);
      c.sendPacket(Cmd.SUBMIT_JOB, "f", "u", "a 100-byte workload".padEnd(100, "."));
      await c.expectPacket(Cmd.JOB_CREATED);
      const page = await get(endpoint, "/metrics");
      assert.match(page.body, /^gearbox_workload_pool_bytes 65536$/m);
      assert.match(page.body, /^gearbox_payload_memory_bytes 0$/m);
      assert.match(page.body, /^# TYPE gearbox_workload_pool_bytes gauge$/m);
      c.close();
    });
  });

  test("after one completion and one failure the counters, the dead set and the wait and run histograms are exact", async () => {
    await withEndpoint(new TestStore(), async (server, endpoint, clock) => {
      await server.start();
      const client = await submit(server.port, "f", 3);
      const worker = await RawConn.connect(server.port);
      worker.sendPacket(Cmd.CAN_DO, "f");
      clock.advance(2_500);
      worker.sendPacket(Cmd.GRAB_JOB);
      const first = (await worker.expectPacket(Cmd.JOB_ASSIGN)).args[0]!;
      clock.advance(1_500);
      worker.sendPacket(Cmd.WORK_COMPLETE, first, "done");
      worker.sendPacket(Cmd.GRAB_JOB);
      const second = (await worker.expectPacket(Cmd.JOB_ASSIGN)).args[0]!;
      clock.advance(500);
      worker.sendPacket(Cmd.WORK_FAIL, second);
      await waitUntil("both ends are counted", () => server.core.view.functions.get("f")!.failed === 1, 2000);
      const body = (await get(endpoint, "/metrics")).body;
      const family = (name: string) =>
        body.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name}_`) && !l.startsWith("#"));
      assert.deepEqual(family("gearbox_jobs_submitted_total"), [
        'gearbox_jobs_submitted_total{function="f",kind="foreground"} 0',
        'gearbox_jobs_submitted_total{function="f",kind="background"} 3',
        'gearbox_jobs_submitted_total{function="f",kind="scheduled"} 0',
      ]);
      assert.deepEqual(family("gearbox_jobs_completed_total"), ['gearbox_jobs_completed_total{function="f"} 1']);
      assert.deepEqual(family("gearbox_jobs_failed_total"), ['gearbox_jobs_failed_total{function="f",reason="failed"} 1']);
      assert.deepEqual(family("gearbox_jobs_dead"), ['gearbox_jobs_dead{function="f"} 1']);
      assert.deepEqual(family("gearbox_jobs_queued").map((l) => l.split(" ")[1]), ["0", "1", "0"]);
      assert.deepEqual(family("gearbox_oldest_waiting_seconds"), ['gearbox_oldest_waiting_seconds{function="f"} 4.5']);
      // Waits: 2.5 s and 4 s (the second job waited through the first's run); runs: 1.5 s and 0.5 s.
      const bucket = (name: string, le: string) => family(name).find((l) => l.includes(`le="${le}"`))!.split(" ")[1];
      assert.deepEqual(["1", "5", "+Inf"].map((le) => bucket("gearbox_job_wait_seconds", le)), ["0", "2", "2"]);
      assert.deepEqual(["0.1", "0.5", "1", "5", "+Inf"].map((le) => bucket("gearbox_job_run_seconds", le)), ["0", "1", "1", "2", "2"]);
      assert.ok(family("gearbox_job_wait_seconds").includes('gearbox_job_wait_seconds_sum{function="f"} 6.5'));
      assert.ok(family("gearbox_job_run_seconds").includes('gearbox_job_run_seconds_sum{function="f"} 2'));
      assert.ok(family("gearbox_job_run_seconds").includes('gearbox_job_run_seconds_count{function="f"} 2'));
      assert.match(body, /^gearbox_store_batch_jobs_count [1-9]\d*$/m);
      assert.match(body, /^gearbox_store_commit_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
      client.close();
      worker.close();
    });
  });

  test("/health answers 200 while /ready answers 503 during the replay, then 200 once the job port listens", async () => {
    const store = new TestStore(true);
    await withEndpoint(store, async (server, endpoint) => {
      const starting = server.start();
      assert.equal((await get(endpoint, "/health")).status, 200);
      const early = await get(endpoint, "/ready");
      assert.deepEqual([early.status, early.body], [503, "starting: the store is being replayed\n"]);
      assert.match((await get(endpoint, "/metrics")).body, /^gearbox_ready 0$/m);
      store.release();
      await starting;
      const ready = await get(endpoint, "/ready");
      assert.deepEqual([ready.status, ready.body], [200, "ready\n"]);
    });
  });

  test("/ready answers 503 while the server drains, and the endpoint closes when it stops", async () => {
    await withEndpoint(new TestStore(), async (server, endpoint) => {
      await server.start();
      const c = await submit(server.port, "held", 1); // a queued job keeps the drain going
      const drained = server.drain();
      const r = await get(endpoint, "/ready");
      assert.deepEqual([r.status, r.body], [503, "draining: no new connections\n"]);
      assert.equal((await get(endpoint, "/health")).status, 200);
      await server.stop();
      await drained;
      await waitUntil("the endpoint closes with the server", async () => {
        try {
          await get(endpoint, "/health");
          return false;
        } catch {
          return true;
        }
      }, 5000);
      c.close();
    });
  });

  test("/ready answers 503 while the store is unreachable and 200 once a commit succeeds again", async () => {
    const store = new TestStore();
    await withEndpoint(store, async (server, endpoint) => {
      await server.start();
      store.down = true;
      const c = await RawConn.connect(server.port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "g", "lost", "x");
      await c.expectPacket(Cmd.ERROR);
      const r = await get(endpoint, "/ready");
      assert.deepEqual([r.status, r.body], [503, "the store is unreachable\n"]);
      store.down = false;
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "g", "kept", "x");
      await c.expectPacket(Cmd.JOB_CREATED);
      assert.equal((await get(endpoint, "/ready")).status, 200);
      c.close();
    });
  });

  test("other paths are 404, other methods 405, and HEAD gets the headers without a body", async () => {
    await withEndpoint(new TestStore(), async (server, endpoint) => {
      await server.start();
      assert.equal((await get(endpoint, "/nope")).status, 404);
      assert.equal((await get(endpoint, "/metrics", "POST")).status, 405);
      const head = await get(endpoint, "/metrics", "HEAD");
      assert.deepEqual([head.status, head.body], [200, ""]);
      assert.equal((await get(endpoint, "/health?verbose=1")).status, 200);
    });
  });

  test("createServer({ metricsListen }) starts the endpoint with the server and stops it with the server", async () => {
    const server = createServer({ port: 0, logLevel: "silent", storeInstance: new MemoryStore(), metricsListen: "127.0.0.1:0" });
    await server.start();
    const endpoint = server.metrics!;
    assert.equal((await get(endpoint, "/ready")).status, 200);
    await server.stop();
    await assert.rejects(get(endpoint, "/health"));
  });

  test("a non-loopback metrics_listen is refused at createServer unless metrics_insecure, which logs a warning", async () => {
    assert.throws(
      () => createServer({ port: 0, storeInstance: new MemoryStore(), metricsListen: "0.0.0.0:0" }),
      /^ConfigError: metrics_listen: 0\.0\.0\.0 is not a loopback address.*metrics_insecure: true/,
    );
    createServer({ port: 0, storeInstance: new MemoryStore(), metricsListen: "0.0.0.0:0", metricsInsecure: true }); // accepted
    // The warning, on an address marked exposed (tests bind 127.0.0.1 only).
    const lines: string[] = [];
    const logger = new Logger({ level: "info", format: "text", write: (l) => lines.push(l) });
    const server = createServer({ port: 0, storeInstance: new MemoryStore(), logger });
    const endpoint = await MetricsEndpoint.start(server, { host: "127.0.0.1", port: 0, exposed: true });
    try {
      assert.ok(lines.some((l) => l.includes("WARN") && l.includes("metrics endpoint on a non-loopback address")), lines.join("\n"));
    } finally {
      await endpoint.close();
    }
  });
});
