/**
 * docs/reliability.md b48: a worker streams WORK_DATA to a foreground client
 * that never reads. The server buffers none of it beyond the client's output
 * cap: it stops reading the worker (the worker sees its socket stop
 * draining) until the client reads or is gone; then the worker goes on and
 * its updates for the gone client are dropped at once. Measured: the
 * server's RSS (a separate process) and a bystander's echo round trips.
 *
 * GEARBOX_STREAM_MIB sets how much the worker offers (256 MiB by default;
 * the case was 1 GiB).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import { ManualClock } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { withServer } from "../helpers/inproc.ts";
import { Bystander, rssMiB } from "../helpers/probe.ts";
import { startGearbox } from "../helpers/servers.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const STREAM_MIB = Number(process.env.GEARBOX_STREAM_MIB ?? 256);
const CHUNK = 64 * 1024;
/** Growth over the warmed-up baseline allowed (docs/reliability.md F1's soak figure). */
const RSS_BOUND_MIB = 64;
/** The bystander's echo p99 while the stream is held back: generous for a loaded 2-core machine. */
const P99_BOUND_MS = 100;

/** A plain socket whose packets are parsed as they come (the job's handle, the assignment). */
async function open(port: number): Promise<{ sock: Socket; next: (code: number) => Promise<string[]> }> {
  const sock = connect({ port, host: "127.0.0.1" });
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.once("connect", () => r()));
  let buf = Buffer.alloc(0);
  const waiting: (() => void)[] = [];
  sock.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (const w of waiting.splice(0)) w();
  });
  const next = async (code: number): Promise<string[]> => {
    for (;;) {
      if (buf.length >= 12 && buf.length >= 12 + buf.readUInt32BE(8)) {
        const size = buf.readUInt32BE(8);
        const got = buf.readUInt32BE(4);
        const args = buf.subarray(12, 12 + size).toString("latin1").split("\0");
        buf = buf.subarray(12 + size);
        assert.equal(got, code, `expected packet ${code}, got ${got} ${JSON.stringify(args)}`);
        return args;
      }
      await new Promise<void>((r) => waiting.push(r));
    }
  };
  return { sock, next };
}

/** A worker holding a running job that a client submitted in the foreground and then stopped reading. */
async function streamingPair(port: number): Promise<{ worker: Socket; client: Socket; handle: string }> {
  const w = await open(port);
  const c = await open(port);
  w.sock.write(packet(Cmd.CAN_DO, "stream"));
  c.sock.write(packet(Cmd.SUBMIT_JOB, "stream", "", "go"));
  const [handle] = await c.next(Cmd.JOB_CREATED);
  c.sock.pause(); // never reads again
  w.sock.write(packet(Cmd.GRAB_JOB));
  const assigned = await w.next(Cmd.JOB_ASSIGN);
  assert.equal(assigned[0], handle);
  return { worker: w.sock, client: c.sock, handle: handle! };
}

/**
 * Writes WORK_DATA until `total` bytes went out or the socket has not
 * drained for `stuckMs`; resolves with the bytes the socket took.
 */
async function push(worker: Socket, handle: string, from: number, total: number, stuckMs: number): Promise<number> {
  const data = packet(Cmd.WORK_DATA, handle, Buffer.alloc(CHUNK, 0x64));
  let sent = from;
  while (sent < total) {
    sent += CHUNK;
    if (worker.write(data)) continue;
    const drained = await new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), stuckMs);
      worker.once("drain", () => {
        clearTimeout(t);
        r(true);
      });
    });
    if (!drained) return sent;
  }
  return sent;
}

test(
  "b48: a worker streaming to a client that never reads is paused with the server's RSS bounded and a bystander served; when the client goes, the worker finishes and memory comes back",
  { timeout: 120_000 },
  async () => {
    const server = await startGearbox({ extra: ["--output-stall-timeout", "0", "--max-output-buffer", "1048576"] });
    const total = STREAM_MIB * 1024 * 1024;
    try {
      const warm = await RawConn.connect(server.port);
      for (let i = 0; i < 500; i++) warm.sendPacket(Cmd.ECHO_REQ, Buffer.alloc(4096));
      for (let i = 0; i < 500; i++) await warm.expectPacket(Cmd.ECHO_RES);
      warm.close();
      await sleep(200);
      const before = rssMiB(server.pid);
      let peak = before;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, rssMiB(server.pid));
          await sleep(20);
        }
      })();
      const bystander = await Bystander.start(server.port, 10, [server.pid]);
      const { worker, client, handle } = await streamingPair(server.port);

      const t0 = performance.now();
      const held = await push(worker, handle, 0, total, 2000);
      const pausedAt = performance.now() - t0;
      const peakWhilePaused = peak;
      const echo = await bystander.stop();

      // The client goes: what was queued for it is dropped, and the worker is read again.
      client.destroy();
      const t1 = performance.now();
      const sent = await push(worker, handle, held, total, 10_000);
      const finished = performance.now() - t1;
      worker.write(packet(Cmd.WORK_COMPLETE, handle, "end"));
      const a = await RawConn.connect(server.port);
      await waitUntil("the job is done", async () => (await a.adminList("status")) === "stream\t0\t0\t1\n.\n", 10_000, 50);
      await sleep(2000); // the allocator keeps freed pages mapped a while (MIMALLOC_PURGE_DELAY)
      sampling = false;
      await sampler;
      const after = rssMiB(server.pid);
      a.close();
      worker.destroy();
      process.stderr.write(
        `b48: worker offered ${(held / 2 ** 20).toFixed(1)} MiB of ${STREAM_MIB} MiB before its socket stopped draining (${
          pausedAt.toFixed(0)
        } ms, 2 s stuck); after the client left, the rest in ${finished.toFixed(0)} ms; ` +
          `bystander ${echo.count} echoes, p99 ${echo.p99.toFixed(1)} ms, max ${echo.max.toFixed(1)} ms; ` +
          `server RSS before ${before.toFixed(1)} MiB, peak while paused ${peakWhilePaused.toFixed(1)} MiB, peak ${
            peak.toFixed(1)
          } MiB, after ${after.toFixed(1)} MiB\n`,
      );
      assert.ok(held < Math.min(total, 64 * 2 ** 20), `the worker was not paused: ${held} bytes taken`);
      assert.equal(sent, total, "the worker finished its stream once the client was gone");
      assert.ok(!echo.error, `the bystander's echo failed: ${echo.error?.message}`);
      assert.ok(echo.p99 <= P99_BOUND_MS, `bystander p99 ${echo.p99.toFixed(1)} ms`);
      assert.ok(
        peakWhilePaused - before < RSS_BOUND_MIB,
        `RSS grew ${(peakWhilePaused - before).toFixed(1)} MiB while the worker was paused`,
      );
      assert.ok(after - before < RSS_BOUND_MIB, `RSS stayed ${(after - before).toFixed(1)} MiB up after the stream`);
      assert.equal(server.process.exitCode, null, "the server is still running");
    } finally {
      await server.stop();
    }
  },
);

test(
  "b48: a client stuck past output_stall_timeout is dropped, and the worker it held back is read again with its updates for it dropped",
  { timeout: 30_000 },
  async () => {
    const clock = new ManualClock();
    await withServer({ clock, outputStallTimeout: 2, maxOutputBuffer: 65536 }, async (server, port) => {
      const { worker, handle } = await streamingPair(port);
      const held = await push(worker, handle, 0, 64 * 2 ** 20, 1000);
      assert.ok(held < 64 * 2 ** 20, "the worker was paused");
      assert.equal(server.stats.stalled, 1, "the client is the one stalled");
      // Real time alone never drops it: the deadline runs on the server's clock.
      clock.advance(1000);
      assert.equal(server.core.view.counters.get("dropped_output_not_read_before_the_stall_timeout") ?? 0, 0);
      clock.advance(2100);
      await waitUntil("the client is dropped", () => server.stats.connections === 1, 5000, 5);
      assert.equal(server.core.view.counters.get("dropped_output_not_read_before_the_stall_timeout"), 1);
      const sent = await push(worker, handle, held, held + 16 * 2 ** 20, 5000);
      assert.equal(sent, held + 16 * 2 ** 20, "the worker is read again");
      worker.write(packet(Cmd.WORK_COMPLETE, handle, "end"));
      const a = await RawConn.connect(port);
      await waitUntil("the job is done", async () => (await a.adminList("status")) === "stream\t0\t0\t1\n.\n", 5000, 20);
      a.close();
      worker.destroy();
    });
  },
);
