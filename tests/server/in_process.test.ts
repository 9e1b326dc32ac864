/**
 * Gearman::Server's embedding calls on the embedded server: an in-process
 * connection for Client and Worker (`toInProcessServer`, no TCP port), and a
 * worker program wired to the server through its stdin and stdout
 * (`startWorker`), here Perl's Gearman::Worker with GEARMAN_WORKER_USE_STDIO.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AdminClient, Client, createServer, type GearboxServer, Worker } from "../../mod.ts";
import { MISSING, skipIf } from "../helpers/peers.ts";
import { waitUntil } from "../helpers/wait.ts";

/** A Gearman::Worker that reverses its argument, speaking on stdin/stdout; it logs to stderr only. */
const PERL_STDIO_WORKER = `
use strict; use warnings; use Gearman::Worker;
my $w = Gearman::Worker->new;
$w->register_function(stdio_rev => sub { scalar reverse $_[0]->arg });
$w->register_function(stdio_env => sub { $ENV{GEARMAN_WORKER_USE_STDIO} // "unset" });
$w->work while 1;
`;

describe("the embedded server's in-process connections", () => {
  let server: GearboxServer;
  let admin: AdminClient;
  before(async () => {
    server = createServer({ port: 0, store: "memory:", logLevel: "silent" });
    await server.start();
    admin = new AdminClient({ server: `127.0.0.1:${server.port}` });
  });
  after(async () => {
    admin.close();
    await server.stop();
  });

  test("a client and a worker on toInProcessServer() run a job, and the worker shows as in-process", async () => {
    const worker = new Worker({ servers: [server.toInProcessServer()] });
    worker.register("inproc_rev", (job) => [...job.data].reverse().join(""));
    const working = worker.work();
    const client = new Client({ servers: [server.toInProcessServer()] });
    try {
      const req = await client.submitJob("inproc_rev", "hello", { timeoutMs: 5000 });
      assert.equal(req.state, "COMPLETE");
      assert.equal(req.result, "olleh");
      const workers = await admin.workers();
      assert.ok(workers.some((w) => w.address === "[in-process]" && w.functions.includes("inproc_rev")), JSON.stringify(workers));
    } finally {
      client.close();
      await worker.stop();
      await working;
    }
  });

  test("a background job submitted in process survives the client closing and is run by a TCP worker", async () => {
    const client = new Client({ servers: [server.toInProcessServer()] });
    const bg = await client.submitJob("inproc_bg", "x", { background: true });
    client.close();
    assert.equal(bg.state, "CREATED");
    let ran = "";
    const worker = new Worker({ servers: [`127.0.0.1:${server.port}`] });
    worker.register("inproc_bg", (job) => void (ran = job.handle));
    const working = worker.work();
    try {
      await waitUntil("the TCP worker ran the job", () => ran === bg.handle);
    } finally {
      await worker.stop();
      await working;
    }
  });

  test("startWorker runs Perl's Gearman::Worker over its stdin and stdout, and its exit leaves no worker behind", {
    skip: skipIf(MISSING.perl),
  }, async () => {
    const child = await server.startWorker(["perl", "-e", PERL_STDIO_WORKER]);
    const client = new Client({ servers: [server.toInProcessServer()] });
    try {
      await waitUntil(
        "the stdio worker registered",
        async () => (await admin.status()).some((s) => s.function === "stdio_rev" && s.workers === 1),
      );
      const req = await client.submitJob("stdio_rev", "stressed", { timeoutMs: 5000 });
      assert.equal(req.result, "desserts");
      const env = await client.submitJob("stdio_env", "", { timeoutMs: 5000 });
      assert.equal(env.result, "1");
      child.kill("SIGTERM");
      assert.equal(await child.exited, null);
      await waitUntil("the worker left", async () => (await admin.status()).every((s) => s.function !== "stdio_rev" || s.workers === 0));
    } finally {
      client.close();
      child.kill("SIGKILL");
    }
  });
});
