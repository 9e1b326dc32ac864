/**
 * docs/reliability.md §3 cases that are about time and backpressure rather than
 * bytes: slow and stalled uploads (b10, b40), leases and worker timeouts
 * (b21, b26), and output a peer never reads (b32, and the worker-side rule
 * "WORK_DATA faster than the client reads: the client's outbound cap
 * applies"). Deadlines use 1 s settings; the server sweeps once a second.
 * The servers run on a ManualClock: a test waits until the server has read
 * what it sent (its stats), then advances the server's time past a deadline
 * instead of sleeping through it; only waits on the kernel's socket buffers
 * are real.
 *
 * R1 and R2 are timed as withProbe does (tests/helpers/probe.ts): run-queue
 * wait on a loaded machine is not a stall, and the timing claims get three
 * attempts on a fresh server, one of which must keep them.
 */
import { beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import { type JobStore, ManualClock } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { assertUsable, counter, expectError, header, sendRead, withServer } from "../helpers/inproc.ts";
import { sync } from "../helpers/scenario.ts";
import { withProbe } from "../helpers/probe.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

/** Generous: a loaded machine moves 20 MB through loopback slowly; no test waits for a deadline in real time. */
const LONG = { timeout: 20_000 };
const HANDSHAKE_DROP = "dropped_no_request_before_the_handshake_timeout";
const SLOW_DROP = "dropped_half-sent_packet_too_slow";
const STALL_DROP = "dropped_output_not_read_before_the_stall_timeout";
const HARD_CAP_DROP = "dropped_output_buffer_over_the_hard_cap";

/** A socket that never reads what the server sends. */
async function deafSocket(port: number): Promise<{ sock: Socket; closed: Promise<void> }> {
  const sock = connect({ port, host: "127.0.0.1" });
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.once("connect", () => r()));
  const closed = new Promise<void>((r) => sock.once("close", () => r()));
  return { sock, closed };
}

describe("bad input: deadlines and backpressure", () => {
  /** Each test's servers run on a fresh manual clock. */
  let clock = new ManualClock();
  beforeEach(() => {
    clock = new ManualClock();
  });

  test(
    "b10: a half-sent packet that keeps progressing faster than min_partial_rate is not cut off",
    LONG,
    () =>
      withServer({ clock, partialPacketTimeout: 1, minPartialRate: 100 }, async (server, port) => {
        const c = await RawConn.connect(port);
        const body = Buffer.alloc(1200, 0x61);
        await sendRead(server, c, header("\0REQ", Cmd.ECHO_REQ, body.length));
        for (let at = 0; at < body.length; at += 40) { // 400 B/s for 3 s: slow, but four times the floor
          await sendRead(server, c, body.subarray(at, at + 40));
          clock.advance(100);
        }
        assert.equal((await c.expectPacket(Cmd.ECHO_RES, 1000)).body.equals(body), true);
        assert.equal(counter(server, SLOW_DROP), 0);
        await assertUsable(c);
        c.close();
      }),
  );

  test(
    "b10: a body trickled one byte at a time below min_partial_rate is closed after partial_packet_timeout",
    LONG,
    () =>
      withServer({ clock, partialPacketTimeout: 1, minPartialRate: 1024, handshakeTimeout: 0 }, async (server, port) => {
        const c = await RawConn.connect(port);
        const other = await RawConn.connect(port);
        await sendRead(server, c, header("\0REQ", Cmd.SUBMIT_JOB_BG, 1000));
        const t0 = clock.now();
        for (let i = 0; i < 20 && counter(server, SLOW_DROP) === 0; i++) {
          await sendRead(server, c, "x");
          clock.advance(200);
        }
        await c.expectClosed(1000);
        assert.ok(clock.now() - t0 <= 2000, `closed after ${clock.now() - t0} ms (a timeout of 1 s, swept once a second)`);
        assert.equal(counter(server, SLOW_DROP), 1);
        assert.equal(await other.adminList("status"), ".\n", "nothing stored from the half packet (R3)");
        await assertUsable(other);
        other.close();
      }),
  );

  test(
    "b10/b40: an admin line trickled a byte at a time is closed after partial_packet_timeout",
    LONG,
    () =>
      withServer({ clock, partialPacketTimeout: 1, minPartialRate: 1024 }, async (server, port) => {
        const c = await RawConn.connect(port);
        c.sendPacket(Cmd.ECHO_REQ, "hello");
        await c.expectPacket(Cmd.ECHO_RES);
        for (const ch of "status and so on, slowly") {
          if (counter(server, SLOW_DROP) > 0) break;
          await sendRead(server, c, ch);
          clock.advance(200);
        }
        await c.expectClosed(1000);
        assert.equal(counter(server, SLOW_DROP), 1);
      }),
  );

  test(
    "b40: 300 slowloris connections (150 silent after 3 header bytes, 150 trickling after a greeting) are all closed by their deadlines; a bystander keeps its latency",
    LONG,
    () =>
      withProbe({ clock, handshakeTimeout: 1, partialPacketTimeout: 1, minPartialRate: 1024, maxConnections: 1000 }, async (p) => {
        const silent = await Promise.all(Array.from({ length: 150 }, () => RawConn.connect(p.port)));
        for (const c of silent) c.send(header("\0REQ", Cmd.ECHO_REQ, 10).subarray(0, 3));
        const trickling = await Promise.all(Array.from({ length: 150 }, () => RawConn.connect(p.port)));
        for (const c of trickling) c.sendPacket(Cmd.ECHO_REQ, "hi");
        for (const c of trickling) await c.expectPacket(Cmd.ECHO_RES);
        const all = [...silent, ...trickling];
        const t0 = clock.now();
        const drip = packet(Cmd.SUBMIT_JOB_BG, "f40", "", "x".repeat(200));
        for (let i = 0; clock.now() - t0 < 4000 && p.server.stats.connections > 1; i++) {
          const open = trickling.filter((c) => !c.closed);
          const read = p.server.stats.bytesRead;
          for (const c of open) c.send(drip.subarray(i, i + 1));
          await waitUntil("the server read the drip", () => p.server.stats.bytesRead >= read + open.length, 2000, 1);
          clock.advance(300);
        }
        await waitUntil("every slowloris connection saw its close", () => all.every((c) => c.closed), 2000);
        assert.ok(clock.now() - t0 <= 4000, "every slowloris connection was closed within 4 s");
        assert.equal(p.delta(HANDSHAKE_DROP), 150);
        assert.equal(p.delta(SLOW_DROP), 150);
        assert.equal(p.server.stats.connections, 1, "only the bystander is left");
      }),
  );

  test(
    "b21: a WORK_COMPLETE after the grab_for lease ended gets JOB_NOT_FOUND; the job runs again elsewhere and the client sees one result",
    LONG,
    () =>
      withServer({ clock, grabFor: 1 }, async (server, port) => {
        const c = await RawConn.connect(port);
        const w1 = await RawConn.connect(port);
        const w2 = await RawConn.connect(port);
        for (const w of [w1, w2]) w.sendPacket(Cmd.CAN_DO, "f21");
        c.sendPacket(Cmd.SUBMIT_JOB, "f21", "", "x");
        const h = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
        w1.sendPacket(Cmd.GRAB_JOB);
        await w1.expectPacket(Cmd.JOB_ASSIGN);
        w2.sendPacket(Cmd.PRE_SLEEP);
        await sync(w2);
        clock.advance(999);
        await sync(w2); // nothing before the lease's second is up
        assert.equal(counter(server, "lease_expired"), 0);
        clock.advance(1);
        await w2.expectPacket(Cmd.NOOP, 500); // the lease ended: the job is offered again (at once, not a real second later)
        assert.equal(counter(server, "lease_expired"), 1);
        w1.sendPacket(Cmd.WORK_COMPLETE, h, "stale");
        await expectError(w1, "JOB_NOT_FOUND", "Job given in work result not found");
        w2.sendPacket(Cmd.GRAB_JOB);
        assert.equal((await w2.expectPacket(Cmd.JOB_ASSIGN)).args[0], h);
        w2.sendPacket(Cmd.WORK_COMPLETE, h, "fresh");
        assert.equal((await c.expectPacket(Cmd.WORK_COMPLETE)).body.toString(), `${h}\0fresh`);
        await sync(c); // and nothing else before it
        for (const x of [c, w1, w2]) x.close();
      }),
  );

  test(
    "b26: CAN_DO_TIMEOUT of 1 ms is raised to one second (the job is not requeued at once), and 0 means no limit",
    LONG,
    () =>
      withServer({ clock }, async (server, port) => {
        const c = await RawConn.connect(port);
        const fast = await RawConn.connect(port);
        const never = await RawConn.connect(port);
        fast.sendPacket(Cmd.CAN_DO_TIMEOUT, "f26a", "1");
        never.sendPacket(Cmd.CAN_DO_TIMEOUT, "f26b", "0");
        for (const fn of ["f26a", "f26b"]) {
          c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, "", "x");
          await c.expectPacket(Cmd.JOB_CREATED);
        }
        fast.sendPacket(Cmd.GRAB_JOB);
        never.sendPacket(Cmd.GRAB_JOB);
        await fast.expectPacket(Cmd.JOB_ASSIGN);
        await never.expectPacket(Cmd.JOB_ASSIGN);
        clock.advance(999);
        assert.equal(await c.adminList("status"), "f26a\t1\t1\t1\nf26b\t1\t1\t1\n.\n", "both still running after 999 ms");
        clock.advance(1);
        assert.equal(await c.adminList("status"), "f26a\t1\t0\t1\nf26b\t1\t1\t1\n.\n", "only the 1 ms one timed out, after a second");
        clock.advance(3_600_000);
        assert.equal(await c.adminList("status"), "f26a\t1\t0\t1\nf26b\t1\t1\t1\n.\n", "0 has no limit: still running an hour later");
        assert.equal(counter(server, "worker_timeout"), 1);
        for (const x of [c, fast, never]) x.close();
      }),
  );

  test(
    "b32: a client that never reads its GET_STATUS replies is paused at max_output_buffer and closed after output_stall_timeout",
    LONG,
    () =>
      withProbe({ clock, maxOutputBuffer: 65536, outputStallTimeout: 1 }, async (p) => {
        const { sock, closed } = await deafSocket(p.port);
        sock.pause();
        const burst = Buffer.concat(Array.from({ length: 4096 }, () => packet(Cmd.GET_STATUS, "H:nope:1"))); // 100 KiB
        let offered = 0;
        let wake: () => void = () => {};
        sock.on("drain", () => wake());
        const t0 = Date.now();
        // (A paused socket may notice the close late, so the server's counter tells when it was dropped.)
        while (p.delta(STALL_DROP) === 0 && offered < 4096 && Date.now() - t0 < 5000) { // up to 400 MiB
          offered++;
          if (!sock.write(burst)) {
            await new Promise<void>((r) => { // the kernel's buffers: real time
              wake = r;
              setTimeout(r, 50);
            });
          }
          if (p.server.stats.stalled > 0) clock.advance(500); // the server paused it: its stall timeout runs
        }
        assert.equal(p.delta(STALL_DROP), 1, "closed for its unread output");
        assert.ok(offered < 4096, `the server kept reading: ${offered} bursts of 100 KiB`);
        sock.destroy();
        await closed;
      }),
  );

  test(
    "b32: a never-reading client whose input was paused in the middle of a large packet is still closed after output_stall_timeout",
    LONG,
    () =>
      withServer(
        { clock, maxOutputBuffer: 65536, outputStallTimeout: 1, partialPacketTimeout: 1, minPartialRate: 1024 },
        async (server, port) => {
          const { sock, closed } = await deafSocket(port);
          sock.pause();
          // 60,000-byte echoes: when the server pauses this input, it is almost surely inside one.
          const echo = packet(Cmd.ECHO_REQ, Buffer.alloc(60_000, 0x65));
          for (let i = 0; i < 400; i++) sock.write(echo);
          await waitUntil("the server paused the reader that does not read", () => server.stats.stalled === 1);
          const t0 = clock.now();
          for (let i = 0; i < 6 && server.stats.connections > 0; i++) clock.advance(500);
          assert.equal(server.stats.connections, 0, `not closed ${clock.now() - t0} ms into an output_stall_timeout of 1 s`);
          assert.equal(
            counter(server, STALL_DROP),
            1,
            `closed for its unread output, not as a slow sender: ${JSON.stringify([...server.core.view.counters])}`,
          );
          sock.destroy();
          await closed;
        },
      ),
  );

  test(
    "b32: a client that stops reading for less than output_stall_timeout is not dropped, even when its input was paused mid-packet",
    LONG,
    () =>
      withServer(
        { clock, maxOutputBuffer: 65536, outputStallTimeout: 5, partialPacketTimeout: 1, minPartialRate: 1024 },
        async (server, port) => {
          const { sock, closed } = await deafSocket(port);
          sock.pause();
          const echo = packet(Cmd.ECHO_REQ, Buffer.alloc(1000, 0x65));
          const n = 20_000; // 20 MB: far more than the output cap and the kernel buffers hold
          for (let i = 0; i < n; i++) sock.write(echo);
          await waitUntil("the server paused the reader", () => server.stats.stalled === 1);
          for (let i = 0; i < 5; i++) clock.advance(500); // a reader busy for 2.5 s: within the 5 s the settings allow
          let got = 0;
          sock.on("data", (d: Buffer) => {
            got += d.length;
          });
          sock.resume();
          const t0 = Date.now();
          while (got < n * echo.length && !sock.destroyed && Date.now() - t0 < 10_000) { // the server's time runs as fast as real time
            await sleep(20);
            clock.advance(20);
          }
          assert.equal(got, n * echo.length, `every echo answered (counters: ${JSON.stringify([...server.core.view.counters])})`);
          assert.equal(sock.destroyed, false);
          sock.destroy();
          await closed;
        },
      ),
  );

  test(
    "b32/R4: replies queued behind a background submit whose store commit is slow count against max_output_buffer; memory stays bounded",
    LONG,
    async () => {
      let release: () => void = () => {};
      const commits: Promise<void>[] = [];
      const stalled: JobStore = { // a disk that takes its time: the first commit waits until released
        url: "stalled:",
        payloadsOutOfMemory: false,
        open: () => Promise.resolve([]),
        payload: () => Promise.resolve(undefined),
        commit: () => {
          const p = commits.length === 0 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
          commits.push(p);
          return p;
        },
        close: () => Promise.resolve(),
      };
      await withServer({ storeInstance: stalled, maxOutputBuffer: 65536 }, async (_server, port) => {
        const sock = connect({ port, host: "127.0.0.1" }); // a client that reads everything it is sent
        sock.on("error", () => {});
        await new Promise<void>((r) => sock.once("connect", () => r()));
        let received = 0;
        sock.on("data", (d: Buffer) => {
          received += d.length;
        });
        const rss0 = process.memoryUsage().rss;
        sock.write(packet(Cmd.SUBMIT_JOB_BG, "f32s", "", "x")); // its JOB_CREATED waits for the commit; later replies queue behind it
        const echo = packet(Cmd.ECHO_REQ, Buffer.alloc(60_000, 0x65));
        let offered = 0;
        const t0 = Date.now();
        while (Date.now() - t0 < 3000 && offered < 5000) { // up to 300 MB of echoes
          offered++;
          // Blocked for 200 ms (the kernel's buffers, real time): the server has stopped reading.
          if (!sock.write(echo) && !(await Promise.race([new Promise((r) => sock.once("drain", () => r(true))), sleep(200)]))) break;
        }
        const grew = (process.memoryUsage().rss - rss0) / 1048576;
        assert.equal(received, 0, "nothing may overtake the pending JOB_CREATED");
        release();
        const t1 = Date.now();
        while (received < offered * echo.length && Date.now() - t1 < 5000) await sleep(50);
        sock.destroy();
        assert.ok(offered < 5000, `the server kept reading while its replies could not be sent: ${offered} echoes of 60 KB taken`);
        assert.ok(grew < 64, `RSS grew by ${grew.toFixed(0)} MiB while the commit was pending`);
        assert.ok(received >= offered * echo.length, "after the commit, JOB_CREATED and every echo arrive");
      });
    },
  );

  test(
    "b32/b48: a client that never reads WORK_DATA relayed from a busy worker holds the worker back, not the server's memory, until the stall timeout drops it; then the worker keeps working",
    LONG,
    () =>
      withProbe({ maxOutputBuffer: 65536, maxPacketSize: 65536, outputStallTimeout: 2 }, async (p) => {
        const rss0 = process.memoryUsage().rss;
        const { sock, closed } = await deafSocket(p.port);
        sock.write(packet(Cmd.SUBMIT_JOB, "f32w", "", "x"));
        const created = await new Promise<Buffer>((r) => sock.once("data", r));
        sock.pause(); // from now on the client reads nothing
        const h = created.subarray(12).toString("latin1");
        const w = await RawConn.connect(p.port);
        w.sendPacket(Cmd.CAN_DO, "f32w");
        w.sendPacket(Cmd.GRAB_JOB);
        assert.equal((await w.expectPacket(Cmd.JOB_ASSIGN)).args[0], h);
        const data = packet(Cmd.WORK_DATA, h, Buffer.alloc(60 * 1024, 0x77));
        // 24 MiB of relayed data, past the hard cap (4 × 64 KiB + 64 KiB) many times over: the
        // server stops reading the worker instead, so the client is never over the hard cap and
        // is dropped by its stall timeout (2 s, the server's real clock here; b48 has it on a ManualClock).
        for (let sent = 0; sent < 400; sent += 16) { // 16 at a time: one 24 MiB write would stall this test's own loop
          for (let i = 0; i < 16; i++) w.send(data);
          await sleep(2);
        }
        // (A paused socket may notice the close late, so the server's counters tell when it was dropped.)
        await waitUntil("the deaf client is dropped", () => p.delta(STALL_DROP) === 1, 6000, 20);
        assert.equal(p.delta(HARD_CAP_DROP), 0, "its output never passed the hard cap");
        sock.destroy();
        await closed;
        assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024, "RSS grew by less than 64 MiB");
        await assertUsable(w);
        w.sendPacket(Cmd.WORK_COMPLETE, h, "done");
        await sync(w); // the job ends quietly; nobody listens any more
        assert.equal(p.server.core.view.jobs.size, 0);
        w.close();
      }),
  );
});
