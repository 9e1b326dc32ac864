/**
 * Interop with PHP's gearman extension (pecl gearman 2.1 on libgearman
 * 1.1.20): GearmanClient and GearmanWorker through
 * tests/interop/peers/client.php and worker.php, against every available
 * server target. Note that this extension sends OPTION_REQ "exceptions" on
 * every connection, client and worker alike, so PHP clients always receive
 * WORK_EXCEPTION packets as such.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TARGETS } from "../helpers/servers.ts";
import { MISSING, Peers, serveTarget, skipIf, waitForStatus } from "../helpers/peers.ts";

const T = { timeout: 25_000 };

type Event = { event: string; task: number; [k: string]: unknown };

for (const target of TARGETS) {
  describe(`PHP GearmanClient and GearmanWorker against ${target.name}`, () => {
    const skip = skipIf(!target.available && `${target.name} is not installed`, MISSING.php);
    const peers = new Peers();
    let port = 0;
    serveTarget(target, skip, peers, (p) => (port = p));

    /** Starts worker.php and waits until the server counts it for each function. */
    async function phpWorker(functions: Record<string, string>, count = 1) {
      const w = peers.php("worker.php", port, { functions, count, timeout: 15 });
      for (const f of Object.keys(functions)) await waitForStatus(port, f, { workers: 1 });
      return w;
    }

    const phpClient = (spec: Record<string, unknown>) => peers.php("client.php", port, { timeout: 8, ...spec });

    test("doNormal returns a PHP worker's result for a binary payload", { ...T, skip }, async () => {
      const w = await phpWorker({ php_rev: "reverse" });
      const r = await phpClient({ op: "do", func: "php_rev", data_hex: "0061006200ff0a" }).result(10_000);
      assert.equal(r.rc, "SUCCESS");
      assert.equal(r.result_hex, "0aff0062006100");
      const job = await w.waitForJson((v) => v.job === 1);
      assert.equal(job.workload_hex, "0061006200ff0a");
      assert.equal(job.func, "php_rev");
      await w.ok();
    });

    test("doHigh and doLow return a PHP worker's results", { ...T, skip }, async () => {
      await phpWorker({ php_hilo: "upper" }, 2);
      const high = await phpClient({ op: "do", priority: "high", func: "php_hilo", data: "high" }).result(10_000);
      assert.deepEqual([high.rc, high.result], ["SUCCESS", "HIGH"]);
      const low = await phpClient({ op: "do", priority: "low", func: "php_hilo", data: "low" }).result(10_000);
      assert.deepEqual([low.rc, low.result], ["SUCCESS", "LOW"]);
    });

    test(
      "doBackground returns a handle that jobStatus reports as queued, then as unknown once a worker ran it",
      { ...T, skip },
      async () => {
        const bg = await phpClient({ op: "bg", func: "php_bg", data: "later" }).result();
        assert.equal(bg.rc, "SUCCESS");
        const handle = String(bg.handle);
        assert.ok(handle.length > 0);
        await waitForStatus(port, "php_bg", { total: 1, running: 0, workers: 0 });
        const queued = await phpClient({ op: "status", handle }).result();
        assert.deepEqual(queued, { known: true, running: false, numerator: 0, denominator: 0 });
        const w = peers.php("worker.php", port, { functions: { php_bg: "echo" }, count: 1, timeout: 10 });
        const job = await w.waitForJson((v) => v.job === 1);
        assert.equal(job.handle, handle);
        assert.equal(Buffer.from(String(job.workload_hex), "hex").toString(), "later");
        await w.ok();
        await waitForStatus(port, "php_bg", { total: 0 });
        const gone = await phpClient({ op: "status", handle }).result();
        assert.deepEqual(gone, { known: false, running: false, numerator: 0, denominator: 0 });
      },
    );

    test("background jobs from doLowBackground, doBackground and doHighBackground run high first, low last", { ...T, skip }, async () => {
      for (const [priority, data] of [["low", "L"], ["normal", "N"], ["high", "H"]]) {
        const r = await phpClient({ op: "bg", priority, func: "php_bgprio", data }).result();
        assert.equal(r.rc, "SUCCESS");
      }
      await waitForStatus(port, "php_bgprio", { total: 3 });
      const w = peers.php("worker.php", port, { functions: { php_bgprio: "echo" }, count: 3, timeout: 10 });
      await w.ok(10_000);
      const order = w.jsonLines().filter((v) => "job" in v).map((v) => Buffer.from(String(v.workload_hex), "hex").toString());
      assert.deepEqual(order, ["H", "N", "L"]);
    });

    test("addTask and runTasks run several tasks, each completing with its own result", { ...T, skip }, async () => {
      await phpWorker({ php_tasks: "reverse" }, 3);
      const r = await phpClient({
        op: "tasks",
        tasks: [{ func: "php_tasks", data: "abc" }, { func: "php_tasks", data: "def" }, { func: "php_tasks", data: "ghi" }],
      }).result(10_000);
      assert.equal(r.rc, "SUCCESS");
      const events = r.events as Event[];
      const created = events.filter((e) => e.event === "created");
      assert.deepEqual(created.map((e) => e.task).sort(), [0, 1, 2]);
      assert.equal(new Set(created.map((e) => e.handle)).size, 3, "every task has its own handle");
      const complete = events.filter((e) => e.event === "complete").sort((a, b) => a.task - b.task);
      assert.deepEqual(complete.map((e) => [e.task, e.data]), [[0, "cba"], [1, "fed"], [2, "ihg"]]);
      assert.deepEqual(events.filter((e) => !["created", "complete"].includes(e.event)), []);
    });

    test(
      "a PHP worker's sendData, sendStatus and sendWarning reach the client's callbacks in order, before completion",
      { ...T, skip },
      async () => {
        await phpWorker({ php_chatty: "chatty" });
        const r = await phpClient({ op: "tasks", tasks: [{ func: "php_chatty", data: "t" }] }).result(10_000);
        assert.equal(r.rc, "SUCCESS");
        const events = (r.events as Event[]).filter((e) => e.event !== "created");
        assert.deepEqual(events, [
          { event: "data", task: 0, data: "d1:t" },
          { event: "status", task: 0, numerator: 1, denominator: 2 },
          { event: "warning", task: 0, data: "w1" },
          { event: "data", task: 0, data: "d2" },
          { event: "status", task: 0, numerator: 2, denominator: 2 },
          { event: "complete", task: 0, data: "done:t" },
        ]);
      },
    );

    test("doNormal hands back a PHP worker's data chunks joined in front of its result", { ...T, skip }, async () => {
      await phpWorker({ php_chatty_do: "chatty" });
      const r = await phpClient({ op: "do", func: "php_chatty_do", data: "x" }).result(10_000);
      assert.equal(r.rc, "SUCCESS");
      assert.equal(r.result, "d1:xd2done:x");
    });

    test("a PHP worker's exception reaches a PHP client's exception callback with its message", { ...T, skip }, async () => {
      await phpWorker({ php_exc: "exception" });
      const r = await phpClient({ op: "tasks", tasks: [{ func: "php_exc", data: "x" }] }).result(10_000);
      const events = (r.events as Event[]).filter((e) => e.event !== "created");
      assert.deepEqual(events, [{ event: "exception", task: 0, data: "boom:x" }]);
    });

    test("doNormal reports a PHP worker's exception as GEARMAN_WORK_EXCEPTION", { ...T, skip }, async () => {
      await phpWorker({ php_exc_do: "exception" });
      const r = await phpClient({ op: "do", func: "php_exc_do", data: "x" }).result(10_000);
      assert.equal(r.rc, "WORK_EXCEPTION");
    });

    test("a PHP worker's sendFail reaches the client's fail callback and doNormal's GEARMAN_WORK_FAIL", { ...T, skip }, async () => {
      await phpWorker({ php_fail: "fail" }, 2);
      const r = await phpClient({ op: "tasks", tasks: [{ func: "php_fail", data: "x" }] }).result(10_000);
      assert.deepEqual((r.events as Event[]).filter((e) => e.event !== "created"), [{ event: "fail", task: 0 }]);
      const d = await phpClient({ op: "do", func: "php_fail", data: "y" }).result(10_000);
      assert.equal(d.rc, "WORK_FAIL");
    });

    test("a PHP worker keeps serving after an exception and a failure", { ...T, skip }, async () => {
      const w = await phpWorker({ php_next_exc: "exception", php_next_fail: "fail", php_next_rev: "reverse" }, 3);
      assert.equal((await phpClient({ op: "do", func: "php_next_exc", data: "1" }).result(10_000)).rc, "WORK_EXCEPTION");
      assert.equal((await phpClient({ op: "do", func: "php_next_fail", data: "2" }).result(10_000)).rc, "WORK_FAIL");
      const ok = await phpClient({ op: "do", func: "php_next_rev", data: "still here" }).result(10_000);
      assert.deepEqual([ok.rc, ok.result], ["SUCCESS", "ereh llits"]);
      await w.ok();
    });
  });
}
