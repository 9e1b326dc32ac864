/**
 * The client, worker and admin library (issue 4) over real sockets against
 * every server it must work with: gearbox, Debian's gearmand and Perl's
 * Gearman::Server, each started by the suite. Where a server lacks a feature
 * (Gearman::Server relays no WORK_DATA, has no low priority, fewer admin
 * commands) the test says so and skips that server.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminClient,
  Client,
  ClientError,
  type ClientOptions,
  type JobUpdate,
  jsonEncoder,
  Worker,
  type WorkerOptions,
} from "../../mod.ts";
import {
  HAVE_GEARMAND,
  HAVE_PERL_GEARMAND,
  type RunningServer,
  startGearbox,
  startGearmand,
  startPerlGearmand,
} from "../helpers/servers.ts";
import { freePort } from "../helpers/free_port.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

type Feature = "workData" | "lowPriority" | "fullAdmin" | "grabUniq" | "reliable";

const TARGETS: { name: string; available: boolean; start: () => Promise<RunningServer>; lacks: Feature[] }[] = [
  { name: "gearbox", available: true, start: () => startGearbox(), lacks: [] },
  { name: "gearmand", available: HAVE_GEARMAND, start: () => startGearmand(), lacks: ["reliable"] },
  {
    name: "Gearman::Server (Perl)",
    available: HAVE_PERL_GEARMAND,
    start: startPerlGearmand,
    lacks: ["workData", "lowPriority", "fullAdmin", "grabUniq", "reliable"],
  },
];

let seq = 0;
/** A function name no other test uses, so tests on one server never see each other's jobs. */
const fresh = (what: string) => `${what}_${process.pid}_${++seq}`;

for (const target of TARGETS) {
  const unless = (feature: Feature) => target.lacks.includes(feature) ? `${target.name} does not support this` : false;

  describe(`the library against ${target.name}`, { skip: target.available ? false : `${target.name} is not installed` }, () => {
    let server: RunningServer;
    let addr: string;
    const cleanups: (() => unknown)[] = [];

    before(async () => {
      server = await target.start();
      addr = `127.0.0.1:${server.port}`;
    });
    after(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
      await server?.stop();
    });

    /** A worker that runs until the suite ends (or `stop()` is awaited by the test). */
    function startWorker<T = string>(setup: (w: Worker<T>) => void, options: WorkerOptions<T> = {}): Worker<T> {
      const w = new Worker<T>({ servers: [addr], ...options });
      setup(w);
      void w.work();
      cleanups.push(() => w.stop());
      return w;
    }
    function client<T = string>(options: ClientOptions<T> = {}): Client<T> {
      const c = new Client<T>({ servers: [addr], ...options });
      cleanups.push(() => c.close());
      return c;
    }
    async function workersFor(fn: string, n: number): Promise<void> {
      const admin = new AdminClient({ server: addr });
      try {
        // Gearman::Server drops a function's row once it has neither jobs nor workers.
        await waitUntil(
          `${fn} has ${n} workers`,
          async () => ((await admin.status()).find((s) => s.function === fn)?.workers ?? 0) === n,
          3000,
        );
      } finally {
        admin.close();
      }
    }

    test("a foreground job comes back complete with the worker's result and a handle", async () => {
      const fn = fresh("reverse");
      startWorker((w) => w.register(fn, (job) => [...job.data].reverse().join("")));
      const req = await client().submitJob(fn, "hello, wörld", { timeoutMs: 5000 });
      assert.equal(req.state, "COMPLETE");
      assert.equal(req.result, "dlröw ,olleh");
      assert.equal(req.complete, true);
      assert.equal(req.timedOut, false);
      assert.match(req.handle!, /^H:/);
      assert.equal(req.connectionAttempts, 1);
    });

    test(
      "data, warning and status updates reach the request in order, and the iterator ends with the result",
      { skip: unless("workData") },
      async () => {
        const fn = fresh("updates");
        startWorker((w) =>
          w.register(fn, (job) => {
            job.sendData("part1");
            job.sendStatus(1, 3);
            job.sendWarning("careful");
            job.sendData("part2");
            job.sendStatus(3, 3);
            return "done";
          })
        );
        const req = await client().submitJob(fn, "x", { waitUntilComplete: false, timeoutMs: 5000 });
        assert.equal(req.state, "CREATED");
        const seen: JobUpdate<string>[] = [];
        for await (const u of req.updates()) seen.push(u);
        assert.deepEqual(seen.map((u) => u.type), ["created", "data", "status", "warning", "data", "status", "complete"]);
        assert.deepEqual(req.dataUpdates, ["part1", "part2"]);
        assert.deepEqual(req.warningUpdates, ["careful"]);
        assert.equal(req.status?.numerator, 3);
        assert.equal(req.status?.denominator, 3);
        assert.equal(req.status?.handle, req.handle);
        assert.equal(req.result, "done");
      },
    );

    test("status updates reach the request", async () => {
      const fn = fresh("progress");
      startWorker((w) =>
        w.register(fn, (job) => {
          job.sendStatus(7, 9);
          return "ok";
        })
      );
      const req = await client().submitJob(fn, "x", { timeoutMs: 5000 });
      assert.equal(req.state, "COMPLETE");
      assert.deepEqual([req.status?.known, req.status?.running, req.status?.numerator, req.status?.denominator], [true, true, 7, 9]);
    });

    test("a handler that throws makes the request FAILED with the exception text", async () => {
      const fn = fresh("boom");
      startWorker((w) =>
        w.register(fn, () => {
          throw new Error("disk on fire");
        })
      );
      const req = await client().submitJob(fn, "x", { timeoutMs: 5000 });
      assert.equal(req.state, "FAILED");
      assert.equal(req.exception, "disk on fire");
      assert.equal(req.complete, true);
    });

    test("the worker carries on after a failed job and takes the next one", async () => {
      const fn = fresh("flaky");
      startWorker((w) =>
        w.register(fn, (job) => {
          if (job.data === "bad") throw new Error("bad input");
          return "fine";
        })
      );
      const c = client();
      assert.equal((await c.submitJob(fn, "bad", { timeoutMs: 5000 })).state, "FAILED");
      const ok = await c.submitJob(fn, "good", { timeoutMs: 5000 });
      assert.equal(ok.state, "COMPLETE");
      assert.equal(ok.result, "fine");
    });

    test("a background job is done once created, and the worker runs it", async () => {
      const fn = fresh("bg");
      let ran: string | undefined;
      startWorker((w) =>
        w.register(fn, (job) => {
          ran = job.data;
        })
      );
      const req = await client().submitJob(fn, "payload", { background: true, timeoutMs: 5000 });
      assert.equal(req.state, "CREATED");
      assert.equal(req.complete, true);
      assert.equal(req.background, true);
      await waitUntil("the background job ran", () => ran !== undefined, 2000);
      assert.equal(ran, "payload");
    });

    test("two requests with the same unique share one job and both get its result", async () => {
      const fn = fresh("coalesce");
      let runs = 0;
      const c = client();
      const a = c.submitJob(fn, "one", { unique: "same-key", timeoutMs: 5000 });
      const b = c.submitJob(fn, "two", { unique: "same-key", timeoutMs: 5000 });
      const admin = new AdminClient({ server: addr });
      cleanups.push(() => admin.close());
      // Both submissions reached the server (one job) before any worker exists.
      await waitUntil("the job is queued", async () => (await admin.status()).find((s) => s.function === fn)?.queued === 1, 2000);
      startWorker((w) =>
        w.register(fn, async (job) => {
          runs++;
          await sleep(50);
          return `ran ${job.data} as ${job.unique}`;
        })
      );
      const [ra, rb] = await Promise.all([a, b]);
      assert.equal(ra.state, "COMPLETE");
      assert.equal(rb.state, "COMPLETE");
      assert.equal(ra.handle, rb.handle);
      // Gearman::Server has no GRAB_JOB_UNIQ, so its workers never learn the unique.
      assert.equal(ra.result, target.lacks.includes("grabUniq") ? "ran one as " : "ran one as same-key");
      assert.equal(rb.result, ra.result);
      assert.equal(runs, 1);
    });

    test("queued jobs are run high priority first, then normal, then low", { skip: unless("lowPriority") }, async () => {
      const fn = fresh("prio");
      const c = client();
      for (const [data, priority] of [["low", "low"], ["normal", "normal"], ["high", "high"]] as const) {
        await c.submitJob(fn, data, { background: true, priority });
      }
      const order: string[] = [];
      startWorker((w) =>
        w.register(fn, (job) => {
          order.push(job.data);
        })
      );
      await waitUntil("the three jobs ran", () => order.length === 3, 2000);
      assert.deepEqual(order, ["high", "normal", "low"]);
    });

    test("a request nobody works on times out with timedOut set and its state kept", async () => {
      const req = await client().submitJob(fresh("nobody"), "x", { timeoutMs: 200 });
      assert.equal(req.timedOut, true);
      assert.equal(req.state, "CREATED");
      assert.equal(req.complete, false);
    });

    test("getJobStatus reports a running job's progress and a finished job as unknown", async () => {
      const fn = fresh("slow");
      let release!: () => void;
      const gate = new Promise<void>((r) => release = r);
      startWorker((w) =>
        w.register(fn, async (job) => {
          job.sendStatus(3, 10);
          await gate;
        })
      );
      const c = client();
      const req = await c.submitJob(fn, "x", { background: true });
      let status = await c.getJobStatus(req);
      await waitUntil("the job runs at 3/10", async () => (status = await c.getJobStatus(req)).running && status.numerator === 3, 2000)
        .catch(() => {});
      assert.deepEqual([status.known, status.running, status.numerator, status.denominator], [true, true, 3, 10]);
      release();
      await waitUntil("the job is unknown once done", async () => !(status = await c.getJobStatus(req)).known, 2000).catch(() => {});
      assert.equal(status.known, false);
      assert.equal(req.status, status);
    });

    test("submitMultipleJobs sends a batch and returns every result in order", async () => {
      const fn = fresh("square");
      startWorker((w) => w.register(fn, (job) => String(Number(job.data) ** 2)));
      const jobs = Array.from({ length: 50 }, (_, i) => ({ function: fn, data: String(i) }));
      const reqs = await client().submitMultipleJobs(jobs, { timeoutMs: 10_000 });
      assert.deepEqual(reqs.map((r) => r.result), jobs.map((_, i) => String(i * i)));
      assert.ok(reqs.every((r) => r.state === "COMPLETE"));
    });

    test("the JSON encoder carries objects both ways", async () => {
      const fn = fresh("json");
      startWorker((w) => w.register(fn, (job) => ({ sum: (job.data.n as number[]).reduce((a, b) => a + b, 0) })), { encoder: jsonEncoder });
      const req = await client({ encoder: jsonEncoder }).submitJob(fn, { n: [1, 2, 3] }, { timeoutMs: 5000 });
      assert.deepEqual(req.result, { sum: 6 });
    });

    test("stop() lets the running job finish, then unregisters the worker", async () => {
      const fn = fresh("drain");
      let started = false;
      const w = new Worker({ servers: [addr] });
      w.register(fn, async () => {
        started = true;
        await sleep(300);
        return "finished";
      });
      const working = w.work();
      const pending = client().submitJob(fn, "x", { timeoutMs: 5000 });
      await waitUntil("the job started", () => started, 1000);
      assert.equal(w.busy, true);
      await w.stop();
      await working;
      const req = await pending;
      assert.equal(req.state, "COMPLETE");
      assert.equal(req.result, "finished");
      await workersFor(fn, 0);
    });

    test("a server's ERROR reply fails the request with SERVER_ERROR and its code", { skip: unless("fullAdmin") }, async () => {
      const fn = fresh("capped");
      const admin = new AdminClient({ server: addr });
      cleanups.push(() => admin.close());
      const c = client();
      assert.equal((await c.submitJob(fn, "a", { background: true })).state, "CREATED");
      await admin.maxQueue(fn, 1); // after the first job: gearmand ignores maxqueue for a function it does not know
      const refused = await c.submitJob(fn, "b", { background: true });
      assert.equal(refused.state, "FAILED");
      assert.ok(refused.error instanceof ClientError);
      assert.equal(refused.error.code, "SERVER_ERROR");
      assert.equal(refused.error.serverCode, "QUEUE_ERROR");
    });

    test("AdminClient parses status, workers and version", async () => {
      const fn = fresh("admin");
      startWorker((w) => w.register(fn, () => "x"), { clientId: "lib-test" });
      await workersFor(fn, 1);
      await client().submitJob(fresh("queued"), "x", { background: true });
      const admin = new AdminClient({ server: addr });
      cleanups.push(() => admin.close());
      const row = (await admin.status()).find((s) => s.function === fn);
      assert.deepEqual(row, { function: fn, queued: 0, running: 0, workers: 1 });
      const me = (await admin.workers()).find((w) => w.functions.includes(fn));
      assert.ok(me, "the worker is listed");
      assert.equal(me.address, "127.0.0.1");
      assert.equal(me.clientId, "lib-test");
      assert.notEqual(await admin.version(), "");
    });

    test("AdminClient reaches gearadmin's other commands", { skip: unless("fullAdmin") }, async () => {
      const admin = new AdminClient({ server: addr });
      cleanups.push(() => admin.close());
      const fn = fresh("shown");
      const req = await client().submitJob(fn, "x", { background: true });
      assert.ok((await admin.showJobs()).some((j) => j.handle === req.handle));
      assert.ok(await admin.getPid() > 0);
      assert.ok((await admin.priorityStatus()).some((p) => p.function === fn && p.normal === 1));
      assert.equal(await admin.cancelJob(req.handle!), true);
      assert.equal(await admin.cancelJob("H:no-such:1"), false);
      const made = fresh("made");
      await admin.createFunction(made);
      assert.ok((await admin.status()).some((s) => s.function === made));
      await admin.dropFunction(made);
      assert.ok(!(await admin.status()).some((s) => s.function === made));
      const raw = await admin.command("status");
      assert.equal(raw.listed, true);
    });

    test("the reliable extension says it is missing instead of pretending", {
      skip: target.lacks.includes("reliable") ? false : "this server has the extension",
    }, async () => {
      const fn = fresh("plain");
      let code: string | undefined;
      startWorker((w) =>
        w.register(fn, (job) => {
          assert.equal(job.reliable, false);
          try {
            job.decline();
          } catch (e) {
            code = (e as ClientError).code;
          }
          return "did it myself";
        })
      );
      const req = await client().submitJob(fn, "x", { timeoutMs: 5000 });
      assert.equal(code, "UNSUPPORTED");
      assert.equal(req.result, "did it myself");
    });
  });
}

describe("the library without a server", () => {
  test("a client that reaches no server rejects with UNREACHABLE after maxConnectionAttempts", async () => {
    const port = await freePort();
    const c = new Client({ servers: [`127.0.0.1:${port}`], connectTimeoutMs: 500 });
    try {
      await assert.rejects(c.submitJob("f", "x", { maxConnectionAttempts: 2 }), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.code, "UNREACHABLE");
        assert.match(e.message, /after 2 connection attempts/);
        return true;
      });
    } finally {
      c.close();
    }
  });

  test("bad arguments are refused before anything is sent", () => {
    const c = new Client({ servers: ["127.0.0.1:1"] });
    assert.throws(() => new Client({ servers: ["host:99999"] }), /bad server address/);
    assert.rejects(c.submitJob("", "x"), /function name is empty/);
    assert.rejects(c.submitJob("f", "x", { runAt: Date.now() / 1000, background: false }), /background job/);
    assert.rejects(c.submitJob("f", "x", { priority: "urgent" as "high" }), /priority must be/);
    assert.throws(() => new Worker().register("", () => {}), /bad function name/);
    c.close();
  });

  test("a worker with nothing registered refuses to work", async () => {
    await assert.rejects(new Worker({ servers: ["127.0.0.1:1"] }).work(), /register a function/);
  });
});
