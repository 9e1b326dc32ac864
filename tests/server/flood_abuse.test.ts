/**
 * docs/reliability.md goal M1, "memory under abuse", against gearbox as a
 * separate process (the built binary when present): 1,000 slowloris
 * connections, a connection flood past max_connections, one client that
 * never reads while pushing up to 1 GiB, and 30 headers declaring 4 GiB
 * bodies — all at once, while a well-behaved client keeps echoing.
 *
 * Asserted: the process stays up; every abusive connection is closed by its
 * deadline or refused; the well-behaved client's echo p99 stays ≤ 50 ms; the
 * server's RSS stays within a fixed bound over its warmed-up baseline (see
 * RSS_BOUND_MIB). The numbers are printed to stderr for the issue note.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { header } from "../helpers/inproc.ts";
import { Bystander, openFileLimit, rssMiB } from "../helpers/probe.ts";
import { startGearbox } from "../helpers/servers.ts";
import { sleep } from "../helpers/wait.ts";

const SLOWLORIS = 1000;
const FLOOD = 300;
const MAX_CONNECTIONS = 1100;
/**
 * Live memory the limits allow: 1,300 connections × a few KiB of socket,
 * decoder and peer state (~10 MiB); one stalled connection's output (1 MiB
 * cap, at most 4 × cap + 1 MiB packet = 5 MiB before the hard drop); one
 * 1 MiB packet being decoded (only the never-reader gets that far). About
 * 20 MiB live, and the rest of the bound is collector slack. Measured on the
 * 2-core dev machine: +18 to +20 MiB at the peak, back to +0 to +13 MiB after.
 * (docs/reliability.md goal M1 allows 256 MiB absolute; this is the tighter
 * soak figure of goal F1, 64 MiB of growth.)
 */
const RSS_BOUND_MIB = 64;

const FDS_NEEDED = SLOWLORIS + FLOOD + 200; // sockets held by this process (the server inherits the same limit and needs fewer)

test(
  "memory under abuse: 1,000 slowloris, a connection flood, a never-reading 1 GiB pusher and 30 huge headers leave the server answering with bounded RSS",
  {
    timeout: 60_000,
    skip: openFileLimit() < FDS_NEEDED ? `needs ulimit -n ≥ ${FDS_NEEDED} (have ${openFileLimit()})` : false,
  },
  async () => {
    const server = await startGearbox({
      extra: [
        "--max-connections",
        String(MAX_CONNECTIONS),
        "--handshake-timeout",
        "2",
        "--partial-packet-timeout",
        "2",
        "--min-partial-rate",
        "1024",
        "--output-stall-timeout",
        "3",
        "--max-output-buffer",
        "1048576",
        "--max-packet-size",
        "1048576",
      ],
    });
    const sockets: Socket[] = [];
    const closes: Promise<void>[] = [];
    const open = async (): Promise<Socket> => {
      const s = connect({ port: server.port, host: "127.0.0.1" });
      s.on("error", () => {});
      sockets.push(s);
      closes.push(new Promise((r) => s.once("close", () => r())));
      await new Promise<void>((r) => {
        s.once("connect", () => r());
        s.once("close", () => r());
      });
      return s;
    };
    let sampling = true;
    let peak = 0;
    let bystander: Bystander | undefined;
    try {
      const warm = await RawConn.connect(server.port);
      for (let i = 0; i < 500; i++) warm.sendPacket(Cmd.ECHO_REQ, Buffer.alloc(4096));
      for (let i = 0; i < 500; i++) await warm.expectPacket(Cmd.ECHO_RES);
      warm.close();
      await sleep(200);
      const before = rssMiB(server.pid);
      peak = before;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, rssMiB(server.pid));
          await sleep(50);
        }
      })();
      // Each echo's round trip less the time this thread and the server's waited for a CPU in the
      // kernel's run queue (a loaded machine's share, not the server's doing; see tests/helpers/probe.ts).
      bystander = await Bystander.start(server.port, 10, [server.pid]);
      const t0 = Date.now();

      // 1,000 slowloris: half never finish a header, half greet and then trickle a body.
      const silent = await Promise.all(Array.from({ length: SLOWLORIS / 2 }, open));
      for (const s of silent) s.write(header("\0REQ", Cmd.SUBMIT_JOB_BG, 100).subarray(0, 3));
      const trickling = await Promise.all(Array.from({ length: SLOWLORIS / 2 }, open));
      for (const s of trickling) s.write(packet(Cmd.ECHO_REQ, "hi"));
      const drip = packet(Cmd.SUBMIT_JOB_BG, "abuse", "", "x".repeat(100));
      let dripAt = 0;
      const dripper = setInterval(() => {
        dripAt++;
        for (const s of trickling) if (!s.destroyed) s.write(drip.subarray(dripAt, dripAt + 1));
      }, 1000);

      // 30 headers declaring 4 GiB bodies: refused from the header.
      const huge = await Promise.all(Array.from({ length: 30 }, open));
      const hugeReplies = huge.map((s) => new Promise<Buffer>((r) => s.once("data", r)));
      for (const s of huge) s.write(header("\0REQ", Cmd.SUBMIT_JOB_BG, 0xffffffff));

      // One client that never reads, offering up to 1 GiB of 64 KiB echoes.
      // (A paused client socket only notices the server's close when it next
      // reads, so its drop is checked through the server's counters.)
      const deaf = connect({ port: server.port, host: "127.0.0.1" });
      deaf.on("error", () => {});
      await new Promise<void>((r) => deaf.once("connect", () => r()));
      deaf.pause();
      const echo = packet(Cmd.ECHO_REQ, Buffer.alloc(64 * 1024, 0x65));
      let offered = 0;
      let pushing = true;
      let wake: () => void = () => {};
      deaf.on("drain", () => wake());
      const pusher = (async () => {
        while (pushing && !deaf.destroyed && offered < 16384) {
          offered++;
          if (!deaf.write(echo)) {
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 250);
            });
          }
        }
      })();

      // A connection flood past max_connections: the ones over the cap are closed at once.
      const flood = await Promise.all(Array.from({ length: FLOOD }, open));
      await sleep(1000);
      const refused = flood.filter((s) => s.destroyed || s.readableEnded).length;

      for (const r of hugeReplies) {
        const b = await Promise.race([r, sleep(1000).then(() => Buffer.alloc(0))]);
        assert.match(b.subarray(12).toString("latin1"), /^ARGUMENT_TOO_LARGE\0/, "a huge header gets ARGUMENT_TOO_LARGE");
      }
      await Promise.race([Promise.all(closes), sleep(10_000)]);
      const took = Date.now() - t0;
      clearInterval(dripper);
      const open_ = sockets.filter((s) => !s.closed).length;
      await sleep(Math.max(0, 5000 - took)); // the deaf client's output-stall deadline is 3 s
      pushing = false;
      wake();
      await pusher;
      deaf.destroy();

      const echoStats = await bystander.stop();
      bystander = undefined;
      const a = await RawConn.connect(server.port);
      const te = performance.now();
      a.sendPacket(Cmd.ECHO_REQ, "after the abuse");
      assert.equal((await a.expectPacket(Cmd.ECHO_RES, 1000)).body.toString(), "after the abuse");
      const echoAfter = performance.now() - te;
      const counters = Object.fromEntries(
        (await a.adminList("counters")).split("\n").filter((l) => l.includes("\t")).map((l) => l.split("\t")),
      );
      a.close();
      sampling = false;
      await sampler;
      const after = rssMiB(server.pid);
      process.stderr.write(
        `abuse: ${SLOWLORIS} slowloris + ${FLOOD} flood (${refused} refused) + 30 huge headers + 1 deaf client (${offered} × 64 KiB offered); ` +
          `closed in ${took} ms; bystander ${echoStats.count} echoes, p99 ${echoStats.p99.toFixed(1)} ms, max ${
            echoStats.max.toFixed(1)
          } ms; ` +
          `echo after ${echoAfter.toFixed(1)} ms; RSS before ${before.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB, after ${
            after.toFixed(1)
          } MiB\n` +
          `abuse counters: ${JSON.stringify(counters)}\n`,
      );

      assert.equal(server.process.exitCode, null, "the server is still running");
      assert.ok(!echoStats.error, `the well-behaved client's echo failed: ${echoStats.error?.message}`);
      assert.equal(open_, 0, `${open_} abusive connections still open after 10 s`);
      // Open when the flood came: the slowloris, the deaf client and the bystander (the 30 huge ones may be gone).
      assert.ok(refused >= SLOWLORIS + 1 + 1 + FLOOD - MAX_CONNECTIONS, `only ${refused} of the flood were refused`);
      assert.ok(offered < 16384, "the server stopped reading the deaf client long before 1 GiB");
      assert.equal(Number(counters["protocol_packet_too_large"]), 30);
      const n = (k: string) => Number(counters[k] ?? 0);
      assert.equal(n("connections_refused"), refused);
      assert.equal(
        n("dropped_no_request_before_the_handshake_timeout"),
        SLOWLORIS / 2 + FLOOD - refused,
        "silent slowloris and the accepted part of the flood",
      );
      assert.equal(n("dropped_half-sent_packet_too_slow"), SLOWLORIS / 2, "the trickling half, by the half-packet deadline");
      assert.ok(echoStats.p99 <= 50, `bystander echo p99 ${echoStats.p99.toFixed(1)} ms`);
      assert.ok(peak - before < RSS_BOUND_MIB, `RSS grew from ${before.toFixed(1)} to a peak of ${peak.toFixed(1)} MiB`);
      assert.equal(
        n("dropped_output_not_read_before_the_stall_timeout") + n("dropped_output_buffer_over_the_hard_cap"),
        1,
        "the never-reading client is dropped by its output deadline (3 s) within 5 s (see bad_input_deadlines, b32)",
      );
    } finally {
      sampling = false;
      await bystander?.stop().catch(() => {});
      for (const s of sockets) s.destroy();
      await server.stop("SIGKILL");
    }
  },
);
