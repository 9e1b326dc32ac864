import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createServer, ManualClock } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { sync } from "../helpers/scenario.ts";
import { startGearbox } from "../helpers/servers.ts";
import { waitUntil } from "../helpers/wait.ts";

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

type Server = Awaited<ReturnType<typeof startGearbox>>;

function exitOf(server: Server): Promise<number | null> {
  const p = server.process;
  if (p.exitCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((r) => p.once("exit", (code) => r(code)));
}

/** Runs a scenario and never leaks the server process, whatever the scenario did. */
async function withServer(fn: (server: Server) => Promise<void>, extra: string[] = []): Promise<void> {
  const server = await startGearbox({ extra });
  try {
    await fn(server);
  } finally {
    if (server.process.exitCode === null && server.process.signalCode === null) await server.stop("SIGKILL");
  }
}

describe("stopping the server", () => {
  test("admin shutdown answers OK and the process exits 0", () =>
    withServer(async (server) => {
      const c = await RawConn.connect(server.port);
      assert.equal(await c.adminLine("shutdown"), "OK\n");
      assert.equal(await exitOf(server), 0);
      c.close();
    }));

  for (const how of ["shutdown graceful", "SIGUSR1"]) {
    test(`${how} refuses new connections, lets the running job finish, then exits 0`, () =>
      withServer(async (server) => {
        const client = await RawConn.connect(server.port);
        const worker = await RawConn.connect(server.port);
        worker.sendPacket(Cmd.CAN_DO, "drain_fn");
        client.sendPacket(Cmd.SUBMIT_JOB, "drain_fn", "", "work");
        const handle = (await client.expectPacket(Cmd.JOB_CREATED)).body.toString();
        worker.sendPacket(Cmd.GRAB_JOB);
        await worker.expectPacket(Cmd.JOB_ASSIGN);
        if (how === "SIGUSR1") server.process.kill("SIGUSR1");
        else assert.equal(await client.adminLine(how), "OK\n");
        await waitUntil("new connections are refused while draining", () => refused(server.port));
        assert.equal(server.process.exitCode, null, "must not exit while a job runs");
        worker.sendPacket(Cmd.WORK_COMPLETE, handle, "done");
        assert.equal((await client.expectPacket(Cmd.WORK_COMPLETE)).body.toString(), `${handle}\0done`);
        assert.equal(await exitOf(server), 0);
        client.close();
        worker.close();
      }));
  }

  test("SIGTERM stops at once with exit code 0 even with jobs queued", () =>
    withServer(async (server) => {
      const c = await RawConn.connect(server.port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "term_fn", "", "x");
      await c.expectPacket(Cmd.JOB_CREATED);
      server.process.kill("SIGTERM");
      assert.equal(await exitOf(server), 0);
      await c.expectClosed();
    }));

  test("a disabled admin shutdown is refused with PERMISSION_DENIED", () =>
    withServer(async (server) => {
      const c = await RawConn.connect(server.port);
      assert.equal(await c.adminLine("shutdown"), "ERR PERMISSION_DENIED shutdown+is+disabled+on+this+server\r\n");
      c.close();
    }, ["--no-admin-shutdown"]));
});

describe("the drain timeout", () => {
  test("a drain with a job still running keeps serving until drain_timeout, then stops with the job left", async () => {
    const clock = new ManualClock();
    const server = createServer({ port: 0, listen: "127.0.0.1", store: "memory:", logLevel: "silent", clock, drainTimeout: 30 });
    await server.start();
    let stopped = false;
    void server.done.then(() => (stopped = true));
    const client = await RawConn.connect(server.port);
    const worker = await RawConn.connect(server.port);
    try {
      worker.sendPacket(Cmd.CAN_DO, "stuck_fn");
      client.sendPacket(Cmd.SUBMIT_JOB_BG, "stuck_fn", "", "work");
      await client.expectPacket(Cmd.JOB_CREATED);
      worker.sendPacket(Cmd.GRAB_JOB);
      await worker.expectPacket(Cmd.JOB_ASSIGN);
      void server.drain();
      await sync(client);
      clock.advance(29_999);
      await sync(worker); // still served 1 ms before the timeout
      assert.equal(stopped, false, "not stopped before drain_timeout");
      clock.advance(1);
      await server.done;
      assert.equal(server.core.view.jobs.size, 1, "stopped with the running job left");
    } finally {
      client.close();
      worker.close();
      await server.stop();
    }
  });
});
