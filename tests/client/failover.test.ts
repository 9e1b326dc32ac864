/**
 * Several servers (issue 4): the client fails over when a server dies under
 * it and loses no foreground request that was retried within
 * `maxConnectionAttempts`; workers reconnect after a server restart and
 * register their functions again. Real server processes, killed with SIGKILL.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AdminClient, Client, type JobRequest, Worker } from "../../mod.ts";
import { HAVE_GEARMAND, type RunningServer, startGearbox, startGearmand } from "../helpers/servers.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const TARGETS = [
  { name: "gearbox", available: true, start: startGearbox },
  { name: "gearmand", available: HAVE_GEARMAND, start: startGearmand },
];

for (const target of TARGETS) {
  describe(`failover with ${target.name}`, { skip: target.available ? false : `${target.name} is not installed` }, () => {
    test("killing one of two servers mid-run loses no foreground request", async () => {
      const servers: RunningServer[] = [await target.start(), await target.start()];
      const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
      const workers = Array.from({ length: 3 }, () => {
        const w = new Worker({ servers: addrs, reconnectMinMs: 50 });
        w.register("echo_slow", async (job) => {
          await sleep(5);
          return `done:${job.data}`;
        });
        void w.work();
        return w;
      });
      const client = new Client({ servers: addrs, maxConnectionAttempts: 3 });
      try {
        const total = 300;
        const inFlight = 30;
        const requests: JobRequest[] = [];
        let next = 0;
        let killed = false;
        const lane = async () => {
          while (next < total) {
            const i = next++;
            if (i === Math.floor(total / 3) && !killed) {
              killed = true;
              await servers[0]!.stop("SIGKILL");
            }
            requests[i] = await client.submitJob("echo_slow", String(i), { timeoutMs: 20_000 });
          }
        };
        await Promise.all(Array.from({ length: inFlight }, lane));
        assert.ok(killed);
        const lost = requests.filter((r) => r.state !== "COMPLETE");
        assert.deepEqual(lost.map((r) => `${r.state} ${r.error?.message ?? ""} timedOut=${r.timedOut}`), []);
        assert.deepEqual(requests.map((r) => r.result), requests.map((_, i) => `done:${i}`));
        const retried = requests.filter((r) => r.connectionAttempts > 1);
        assert.ok(retried.length > 0, "some requests were on the killed server and went to the other");
        assert.ok(requests.every((r) => r.connectionAttempts <= 3));
        assert.ok(
          requests.slice(Math.floor(total / 3) + inFlight).every((r) => r.server === addrs[1]),
          "after the kill, only the live server is used",
        );
      } finally {
        client.close();
        await Promise.all(workers.map((w) => w.stop()));
        await Promise.all(servers.map((s) => s.stop("SIGKILL")));
      }
    });
  });
}

describe("worker reconnection", () => {
  test("a worker reconnects after its server restarts and registers its functions again", async () => {
    let server = await startGearbox();
    const port = server.port;
    const addr = `127.0.0.1:${port}`;
    const errors: string[] = [];
    const worker = new Worker({ servers: [addr], reconnectMinMs: 50, reconnectMaxMs: 400, onError: (e) => errors.push(e.message) });
    worker.register("upper", (job) => job.data.toUpperCase());
    worker.register("lower", (job) => job.data.toLowerCase(), { timeoutMs: 10_000 });
    const working = worker.work();
    const client = new Client({ servers: [addr] });
    try {
      assert.equal((await client.submitJob("upper", "before", { timeoutMs: 5000 })).result, "BEFORE");
      await server.stop("SIGKILL");
      await sleep(300); // the worker finds the server gone and backs off
      server = await startGearbox({ port });
      const admin = new AdminClient({ server: addr });
      try {
        await waitUntil(
          "the worker registered both functions again",
          async () => (await admin.status()).filter((r) => r.workers === 1).length === 2,
        )
          .catch(() => {});
        assert.deepEqual((await admin.status()).map((r) => [r.function, r.workers]), [["lower", 1], ["upper", 1]]);
      } finally {
        admin.close();
      }
      assert.equal((await client.submitJob("upper", "after", { timeoutMs: 5000 })).result, "AFTER");
      assert.equal((await client.submitJob("lower", "AGAIN", { timeoutMs: 5000 })).result, "again");
      assert.ok(errors.some((e) => /connection lost|connection refused|closed/.test(e)), errors.join("\n"));
    } finally {
      client.close();
      await worker.stop();
      await working;
      await server.stop();
    }
  });
});
