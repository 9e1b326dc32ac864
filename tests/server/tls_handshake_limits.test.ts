/**
 * Connections that never finish a TLS handshake: they count against
 * max_connections from TCP accept, cost bounded memory, and are dropped by
 * handshake_timeout (the sweep runs on the server's ManualClock) while a
 * normal client is served meanwhile. RSS and latency are printed.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { ManualClock } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { type CertSet, makeCerts } from "../helpers/certs.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { withServer } from "../helpers/inproc.ts";
import { waitUntil } from "../helpers/wait.ts";
import { startGearbox } from "../helpers/servers.ts";

const tempDir = tempDirs();
let certs: CertSet;
before(() => {
  certs = makeCerts(tempDir("gearbox-tls-limits-"));
});

const tlsFiles = () => ({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsCa: certs.ca });
const client = (): ConnectionOptions => ({
  ca: readFileSync(certs.ca),
  cert: readFileSync(certs.clientCert),
  key: readFileSync(certs.clientKey),
});

/** The start of a ClientHello: a record header promising 512 bytes, and 11 of them. */
const PARTIAL_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 1, 2, 3, 4, 5, 6, 7, 8]);

interface HalfOpen {
  sock: Socket;
  closed: Promise<void>;
}

function halfOpen(port: number, partial: boolean): Promise<HalfOpen> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: "127.0.0.1" });
    sock.on("error", () => {});
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    sock.once("connect", () => {
      if (partial) sock.write(PARTIAL_HELLO);
      resolve({ sock, closed });
    });
    sock.once("error", reject);
  });
}

async function openMany(port: number, n: number): Promise<HalfOpen[]> {
  const out: HalfOpen[] = [];
  for (let i = 0; i < n; i += 100) {
    out.push(...await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => halfOpen(port, (i + j) % 2 === 1))));
  }
  return out;
}

const MiB = 1024 * 1024;

/** Resident memory of a process, from /proc (Linux). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

describe("TLS handshakes that never finish", () => {
  test("1,000 half-open TLS connections cost bounded memory, are dropped by handshake_timeout, and a normal client is served meanwhile", async () => {
    const clock = new ManualClock();
    await withServer({ clock, ...tlsFiles(), maxConnections: 1100, handshakeTimeout: 10 }, async (server, port) => {
      const rss0 = process.memoryUsage().rss;
      const idle = await openMany(port, 1000);
      await waitUntil(
        "the server counts 1,000 connections",
        () => server.stats.connections === 1000 || `${server.stats.connections}`,
        15_000,
      );
      const rss1 = process.memoryUsage().rss;
      const t0 = performance.now();
      const { conn } = await RawConn.connectTls(port, client());
      conn.sendPacket(Cmd.ECHO_REQ, "still here");
      assert.equal((await conn.expectPacket(Cmd.ECHO_RES, 5000)).body.toString(), "still here");
      const ms = performance.now() - t0;
      const growth = (rss1 - rss0) / MiB;
      console.log(
        `1,000 half-open TLS connections: RSS +${growth.toFixed(1)} MiB (server and clients in one process); normal client handshake+echo ${
          ms.toFixed(1)
        } ms`,
      );
      assert.ok(growth < 64, `RSS grew ${growth.toFixed(1)} MiB`);
      assert.ok(ms < 3000, `a normal client waited ${ms.toFixed(0)} ms`);

      clock.advance(11_000);
      await Promise.all(idle.map((h) => h.closed));
      await waitUntil("only the normal client is left", () => server.stats.connections === 1 || `${server.stats.connections}`);
      conn.sendPacket(Cmd.ECHO_REQ, "after the sweep");
      assert.equal((await conn.expectPacket(Cmd.ECHO_RES)).body.toString(), "after the sweep");
      conn.close();
    });
  });

  test("max_connections counts TLS connections from TCP accept, before their handshake", async () => {
    await withServer({ ...tlsFiles(), maxConnections: 3 }, async (server, port) => {
      const idle = await openMany(port, 3);
      await waitUntil("three connections counted", () => server.stats.connections === 3);
      let served = false;
      try {
        const { conn } = await RawConn.connectTls(port, client());
        conn.sendPacket(Cmd.ECHO_REQ, "one too many");
        served = await conn.expectPacket(Cmd.ECHO_RES, 2000).then(() => true, () => false);
        conn.close();
      } catch {
        // refused during the handshake
      }
      assert.equal(served, false, "the fourth connection is not served");
      assert.equal(server.stats.refusedConnections, 1);
      for (const h of idle) h.sock.destroy();
    });
  });

  test(
    "a gearbox serve process holding 1,000 half-open TLS connections grows its own RSS by under 64 MiB",
    { skip: existsSync("/proc/self/status") ? false : "no /proc here" },
    async () => {
      const server = await startGearbox({
        extra: ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-ca", certs.ca, "--max-connections", "1100"],
      });
      try {
        // A served connection first, so what is measured is the half-open ones, not the first handshake's set-up.
        const { conn } = await RawConn.connectTls(server.port, client());
        conn.sendPacket(Cmd.ECHO_REQ, "warm");
        await conn.expectPacket(Cmd.ECHO_RES, 5000);
        const rss0 = rssOf(server.pid);
        const idle = await openMany(server.port, 1000);
        const t0 = performance.now();
        conn.sendPacket(Cmd.ECHO_REQ, "still here");
        await conn.expectPacket(Cmd.ECHO_RES, 5000);
        const ms = performance.now() - t0;
        const admin = (await RawConn.connectTls(server.port, client())).conn;
        await waitUntil("the server holds all 1,000 (admin workers lists every connection)", async () => {
          const rows = (await admin.adminList("workers")).split("\n").filter((l) => l !== "" && l !== ".").length;
          return rows >= 1002 || `${rows}`;
        }, 15_000);
        admin.close();
        const growth = (rssOf(server.pid) - rss0) / MiB;
        console.log(
          `gearbox serve RSS +${growth.toFixed(1)} MiB for 1,000 half-open TLS connections; an echo meanwhile ${ms.toFixed(1)} ms`,
        );
        assert.ok(growth < 64, `server RSS grew ${growth.toFixed(1)} MiB`);
        for (const h of idle) h.sock.destroy();
        conn.close();
      } finally {
        await server.stop();
      }
    },
  );
});
