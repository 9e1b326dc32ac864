/**
 * gearbox's reliable-queue extension through the Worker API (issue 4):
 * decline, permanent failure with exit status, atomic replaceWith and
 * coalescing grabs, against a gearbox server started by the test (in this
 * process, on a ManualClock: run_after and timeouts are checked by advancing
 * the server's time, not by waiting).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AdminClient, Client, ClientError, createServer, type GearboxServer, JobFailure, ManualClock, Worker } from "../../mod.ts";
import { waitUntil } from "../helpers/wait.ts";

describe("the worker's reliable-queue calls on gearbox", () => {
  let server: GearboxServer;
  const clock = new ManualClock(Date.now());
  let addr: string;
  let admin: AdminClient;
  let client: Client;
  const workers: Worker[] = [];

  before(async () => {
    server = createServer({ port: 0, listen: "127.0.0.1", store: "memory:", logLevel: "silent", clock });
    await server.start();
    addr = `127.0.0.1:${server.port}`;
    admin = new AdminClient({ server: addr });
    client = new Client({ servers: [addr] });
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    admin.close();
    client.close();
    await server.stop();
  });

  function work(setup: (w: Worker) => void): Worker {
    const w = new Worker({ servers: [addr] });
    setup(w);
    void w.work();
    workers.push(w);
    return w;
  }

  /** `job show` as key → value (failure rows collected apart). */
  async function show(handle: string): Promise<{ fields: Map<string, string>; failures: string[] }> {
    const { lines } = await admin.command(`job show ${handle}`);
    const fields = new Map<string, string>();
    const failures: string[] = [];
    for (const row of lines) {
      const [k = "", ...v] = row.split("\t");
      if (k === "failure") failures.push(v[1]!);
      else fields.set(k, v.join("\t"));
    }
    return { fields, failures };
  }

  test("a declined job comes back to the queue without counting as a failure", async () => {
    const seen: number[] = [];
    work((w) =>
      w.register("decline_fn", (job) => {
        seen.push(Date.now());
        assert.equal(job.reliable, true);
        if (seen.length === 1) return job.decline();
        return "second time lucky";
      })
    );
    const req = await client.submitJob("decline_fn", "x", { timeoutMs: 5000 });
    assert.equal(req.state, "COMPLETE");
    assert.equal(req.result, "second time lucky");
    assert.equal(seen.length, 2);
  });

  test("decline(runAfter) holds the job back until then", async () => {
    let runs = 0;
    let handle = "";
    work((w) =>
      w.register("later_fn", (job) => {
        handle = job.handle;
        if (++runs === 1) job.decline(new Date(clock.now() + 60_000));
      })
    );
    await client.submitJob("later_fn", "x", { background: true });
    await waitUntil(
      "the job was declined",
      async () => runs === 1 && handle !== "" && (await show(handle)).fields.get("state") === "scheduled",
      4000,
    );
    const { failures } = await show(handle);
    assert.equal(failures.length, 0);
    clock.advance(59_000);
    assert.equal((await show(handle)).fields.get("state"), "scheduled", "held back before run_after");
    assert.equal(runs, 1, "not offered again before run_after");
    clock.advance(1_000);
    await waitUntil("the job ran again at run_after", () => runs === 2, 4000);
  });

  test("permanentFailure ends the job for good with its exit status and message", async () => {
    let runs = 0;
    work((w) =>
      w.register("perm_fn", (job) => {
        runs++;
        job.permanentFailure("no such account", 3);
      })
    );
    const req = await client.submitJob("perm_fn", "x", { timeoutMs: 5000 });
    assert.equal(req.state, "FAILED");
    assert.equal(req.exception, "no such account");
    assert.equal((await admin.status()).find((s) => s.function === "perm_fn")?.queued ?? 0, 0, "no retry: the job is gone");
    assert.equal(runs, 1, "no retry");
  });

  test("permanentFailure of a background job keeps the exit status in the dead set", async () => {
    let handle = "";
    work((w) =>
      w.register("perm_bg_fn", (job) => {
        handle = job.handle;
        job.permanentFailure("gone", 7);
      })
    );
    await client.submitJob("perm_bg_fn", "x", { background: true });
    await waitUntil("the job failed", async () => handle !== "" && (await show(handle)).fields.get("state") === "failed", 4000);
    const { fields, failures } = await show(handle);
    assert.equal(fields.get("exit_status"), "7");
    assert.deepEqual(failures, ["gone"]);
  });

  test("a thrown JobFailure's exit status is kept, and plain throws keep 1", async () => {
    const handles = new Map<string, string>();
    work((w) =>
      w.register("exit_fn", (job) => {
        handles.set(job.data, job.handle);
        if (job.data === "seven") throw new JobFailure("exited 7", 7);
        if (job.data === "fail") return job.fail("no disk", 4);
        throw new Error("plain");
      })
    );
    for (const data of ["seven", "fail", "plain"]) await client.submitJob("exit_fn", data, { background: true });
    const expected: Record<string, string[]> = { seven: ["7", "exited 7"], fail: ["4", "no disk"], plain: ["1", "plain"] };
    for (const [data, [status, message]] of Object.entries(expected)) {
      await waitUntil(
        `${data} failed`,
        async () => handles.has(data) && (await show(handles.get(data)!)).fields.get("state") === "failed",
        4000,
      );
      const { fields, failures } = await show(handles.get(data)!);
      assert.equal(fields.get("exit_status"), status, data);
      assert.deepEqual(failures, [message], data);
    }
  });

  test("job.fail reaches a waiting client as the worker's exception", async () => {
    work((w) => w.register("fail_fg_fn", (job) => job.fail("quota exceeded", 5)));
    const req = await client.submitJob("fail_fg_fn", "x", { timeoutMs: 5000 });
    assert.equal(req.state, "FAILED");
    assert.equal(req.exception, "quota exceeded");
  });

  test("register's timeoutMs reaches the server as milliseconds: a job within it runs once", async () => {
    let runs = 0;
    work((w) =>
      w.register("within_timeout_fn", () => {
        runs++;
        clock.advance(1300); // over the 1 s the server would use if it were sent as seconds ("5")
        return "done";
      }, { timeoutMs: 5000 })
    );
    const req = await client.submitJob("within_timeout_fn", "x", { timeoutMs: 10_000 });
    assert.equal(req.result, "done");
    assert.equal(runs, 1);
  });

  test("replaceWith ends the job and creates its replacements, which then run", async () => {
    const ran: string[] = [];
    let handles: string[] = [];
    work((w) => {
      w.register("split_fn", async (job) => {
        handles = await job.replaceWith(job.data.split(",").map((part) => ({ function: "part_fn", data: part })));
      });
      w.register("part_fn", (job) => {
        ran.push(job.data);
      });
    });
    const req = await client.submitJob("split_fn", "a,b,c", { timeoutMs: 5000 });
    assert.equal(req.state, "COMPLETE");
    // The client may hear of the replacement before the worker reads WORK_REPLACED.
    await waitUntil("the worker has the new handles", () => handles.length === 3, 4000);
    assert.equal(new Set(handles).size, 3);
    await waitUntil("the parts ran", () => ran.length === 3, 4000);
    assert.deepEqual(ran.sort(), ["a", "b", "c"]);
  });

  test("a refused replaceWith changes nothing and the handler can still finish the job", async () => {
    let error: unknown;
    work((w) =>
      w.register("bad_split_fn", async (job) => {
        try {
          await job.replaceWith([{ function: "", data: "x" }]);
        } catch (e) {
          error = e;
        }
        return "kept";
      })
    );
    const req = await client.submitJob("bad_split_fn", "x", { timeoutMs: 5000 });
    assert.ok(error instanceof ClientError);
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.equal(req.result, "kept");
  });

  test("a coalesce key makes the worker take the same key's jobs next", async () => {
    for (const unique of ["acct-1:a", "acct-2:b", "acct-1:c", "acct-2:d"]) {
      await client.submitJob("coalesce_fn", unique, { unique, background: true });
    }
    const order: string[] = [];
    work((w) =>
      w.register("coalesce_fn", (job) => {
        order.push(job.unique);
      }, { coalesce: (job) => job.unique.split(":")[0] + ":" })
    );
    await waitUntil("all four ran", () => order.length === 4, 4000);
    assert.deepEqual(order, ["acct-1:a", "acct-1:c", "acct-2:b", "acct-2:d"]);
  });

  test("calls after the job ended are refused", async () => {
    let late: unknown;
    work((w) =>
      w.register("ended_fn", (job) => {
        job.decline();
        try {
          job.sendData("too late");
        } catch (e) {
          late = e;
        }
      })
    );
    await client.submitJob("ended_fn", "x", { background: true });
    await waitUntil("the handler ran", () => late !== undefined, 4000);
    assert.equal((late as ClientError).code, "INVALID_STATE");
  });
});

describe("exit statuses with a retry policy on gearbox", () => {
  let server: GearboxServer;
  let addr: string;
  before(async () => {
    server = createServer({ port: 0, listen: "127.0.0.1", store: "memory:", logLevel: "silent", maxRetries: 1, retryDelay: 0 });
    await server.start();
    addr = `127.0.0.1:${server.port}`;
  });
  after(() => server.stop());

  test("a failure with an exit status is retried, and the last failure's exit status is the job's", async () => {
    const admin = new AdminClient({ server: addr });
    const client = new Client({ servers: [addr] });
    const worker = new Worker({ servers: [addr] });
    let runs = 0;
    let handle = "";
    worker.register("retry_exit_fn", (job) => {
      handle = job.handle;
      runs++;
      throw new JobFailure(`run ${runs}`, 6 + runs);
    });
    const working = worker.work();
    try {
      await client.submitJob("retry_exit_fn", "x", { background: true });
      let lines: string[] = [];
      await waitUntil(
        "the job failed for good",
        async () => handle !== "" && (lines = (await admin.command(`job show ${handle}`)).lines).includes("state\tfailed"),
      );
      assert.equal(runs, 2, "one retry");
      assert.ok(lines.includes("exit_status\t8"), lines.join("\n"));
      assert.deepEqual(lines.filter((l) => l.startsWith("failure\t")).map((l) => l.split("\t")[2]), ["run 1", "run 2"]);
    } finally {
      await worker.stop();
      await working;
      client.close();
      admin.close();
    }
  });
});
