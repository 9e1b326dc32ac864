/**
 * No operation blocks the loop (docs/reliability.md R1, R2): bulk admin
 * commands over a million jobs, listings over 100,000 functions and a burst
 * of 100,000 packets in one write are done in slices between turns of the
 * event loop (src/core/bulk_work.ts, `admin_slice`; the server's turn
 * budget), while a bystander keeps echoing. Timing is measured as in
 * bad_input_amplification.test.ts (withProbe: three attempts on a fresh
 * server; run-queue time is not a stall).
 *
 * The million jobs are set up as a restart would: rows committed to the
 * store in batches of 20,000 and replayed into the core, not submitted one
 * by one.
 *
 * Disabling the slicing (one slice of everything, no turn budget) fails the
 * four timing tests with stalls of 200–340 ms; the before/after figures are
 * in scripts/bench/README.md (`bulk_admin.ts`).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import type { Ended, StoredJob } from "../../src/core/job.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { type Probe, withProbe } from "../helpers/probe.ts";
import { waitUntil } from "../helpers/wait.ts";

const MILLION = 1_000_000;
const WORKLOAD = new Uint8Array([119]);

/** Rows as the store keeps them, ids from `first`. */
function rows(fn: string, n: number, first: number, ended?: Ended): StoredJob[] {
  const out = new Array<StoredJob>(n);
  const t = Date.now();
  for (let i = 0; i < n; i++) {
    const id = first + i;
    out[i] = {
      id,
      handle: `H:bulk:${id}`,
      function: fn,
      unique: "",
      data: WORKLOAD,
      reducer: "",
      priority: 1,
      runAt: 0,
      createdAt: t,
      retries: 0,
      failures: [],
      ended,
    };
  }
  return out;
}

/**
 * Puts `n` jobs in the store and the core, as a replay at start does, made
 * and loaded 20,000 at a time: the probe's bystander is already echoing.
 */
async function preload(p: Probe, fn: string, n: number, first: number, ended?: Ended): Promise<void> {
  for (let from = 0; from < n; from += 20_000) {
    const part = rows(fn, Math.min(20_000, n - from), first + from, ended);
    await p.store.commit({ add: part, update: [], remove: [] });
    p.server.core.restore(part, Date.now());
    await new Promise((r) => setImmediate(r));
  }
}

/** Waits (bounded) until the store holds `n` rows: deletes commit after completion_commit_delay. */
async function storeHolds(p: Probe, n: number): Promise<void> {
  await waitUntil(`the store holds ${n} rows`, () => p.store.size === n, 10_000).catch(() => {});
  assert.equal(p.store.size, n, "the store agrees with the reply");
}

/** Makes functions as an operator would (`create function`), all in one write, and waits for every OK. */
async function createFunctions(port: number, names: readonly string[]): Promise<void> {
  const sock = connect({ port, host: "127.0.0.1" });
  await new Promise<void>((r) => sock.once("connect", () => r()));
  const done = drainBytes(sock, names.length * "OK\r\n".length, 30_000);
  sock.write(names.map((n) => `create function ${n}\n`).join(""));
  await done;
  sock.destroy();
}

/** Reads exactly `n` bytes from a plain socket without keeping them (a multi-MB reply, parsed by nobody); resolves with the last 64. */
function drainBytes(sock: Socket, n: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = 0;
    let tail = Buffer.alloc(0);
    const t = setTimeout(() => reject(new Error(`got ${got} of ${n} bytes`)), timeoutMs);
    sock.on("data", (d: Buffer) => {
      got += d.length;
      tail = Buffer.concat([tail, d]).subarray(-64);
      if (got >= n) {
        clearTimeout(t);
        if (got > n) reject(new Error(`got ${got} bytes, expected ${n}`));
        else resolve(tail);
      }
    });
  });
}

/** The SHA-256 of exactly `n` bytes read from a plain socket, hashed as they arrive. */
function digestOf(sock: Socket, n: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    let got = 0;
    const t = setTimeout(() => reject(new Error(`got ${got} of ${n} bytes`)), timeoutMs);
    sock.on("data", (d: Buffer) => {
      h.update(d);
      got += d.length;
      if (got >= n) {
        clearTimeout(t);
        if (got > n) reject(new Error(`got ${got} bytes, expected ${n}`));
        else resolve(h.digest("hex"));
      }
    });
  });
}

/** Prints a command's total time (the figure scripts/bench/README.md reports). */
function report(what: string, t0: number): void {
  console.log(`${what}: ${(performance.now() - t0).toFixed(0)} ms`);
}

describe("bulk work in slices: no operation blocks the loop", () => {
  test(
    "job purge of a million queued jobs: the bystander's echo p99 stays under 50 ms, the loop is never blocked 100 ms, and exactly the purged jobs leave the core and the store",
    { timeout: 60_000 },
    () =>
      withProbe({}, async (p) => {
        await preload(p, "purged", MILLION, 1);
        await preload(p, "kept", 1000, MILLION + 1);
        const admin = await RawConn.connect(p.port);
        const other = await RawConn.connect(p.port);
        p.measureFromHere();
        const t0 = performance.now();
        admin.send("job purge purged\r\nversion\r\n");
        // Meanwhile another connection is answered, and runs a walk of its own over the same million jobs.
        assert.equal(await other.adminLine("drop function purged", 2000), "ERR there are still queued jobs\r\n");
        assert.equal(await other.adminList("job list state=failed", 10_000), ".\n");
        assert.equal(await admin.readUntil("\n", 30_000), `OK ${MILLION}\n`);
        report("job purge of 1,000,000 queued jobs", t0);
        assert.equal(await admin.readUntil("\n", 2000), "OK 0.1.0\n", "the pipelined request after the purge, answered after it");
        assert.equal(await admin.adminList("status"), "kept\t1000\t0\t0\npurged\t0\t0\t0\n.\n");
        await storeHolds(p, 1000);
        admin.close();
        other.close();
      }, { storeSize: 1000 }),
  );

  test("job retry all over a million failed jobs: the loop stays responsive and every job is queued again, its row updated", {
    timeout: 60_000,
  }, () =>
    withProbe({ maxEndedJobs: MILLION }, async (p) => {
      const t = Date.now();
      await preload(p, "dead", MILLION, 1, { outcome: "failed", exitStatus: 1, at: t, deleteAfter: t + 86_400_000 });
      const admin = await RawConn.connect(p.port);
      p.measureFromHere();
      const t0 = performance.now();
      assert.equal(await admin.adminLine("job retry all", 30_000), `OK ${MILLION}\n`);
      report("job retry all over 1,000,000 failed jobs", t0);
      assert.equal(await admin.adminList("status"), `dead\t${MILLION}\t0\t0\n.\n`);
      admin.close();
    }, { storeSize: MILLION }));

  test("100,000 CAN_DO in one write: the burst is handled in slices, every packet is answered in order, and the bystander keeps its p99", {
    timeout: 60_000,
  }, () =>
    withProbe({}, async (p) => {
      const burst = Buffer.concat(Array.from({ length: 100_000 }, (_, i) => packet(Cmd.CAN_DO, `cd_${i}`)));
      const refused = 100_000 - 1024;
      const errorBytes = packet(Cmd.ERROR, "TOO_MANY_FUNCTIONS", "Connection registered too many functions").length;
      const sock = connect({ port: p.port, host: "127.0.0.1" });
      await new Promise<void>((r) => sock.once("connect", () => r()));
      // An echo behind the burst comes back last: the connection's requests keep their order.
      const tail = packet(Cmd.ECHO_REQ, "last");
      const replies = drainBytes(sock, refused * errorBytes + tail.length, 30_000);
      p.measureFromHere();
      const t0 = performance.now();
      sock.write(Buffer.concat([burst, tail]));
      const last = await replies;
      report("100,000 CAN_DO in one write", t0);
      const echoed = packet(Cmd.ECHO_RES, "last");
      echoed.write("\0RES", 0, "latin1");
      assert.deepEqual(last.subarray(-echoed.length), echoed, "the echo sent behind the burst is answered last");
      // The refused ones made no record (docs/reliability.md b45): only the connection's 1,024.
      assert.equal(p.server.core.view.functions.size, 1024);
      sock.destroy();
    }));

  test("status, prioritystatus and functions over 100,000 functions are built in slices, byte for byte the listings, in request order", {
    timeout: 60_000,
  }, () =>
    withProbe({}, async (p) => {
      const names = Array.from({ length: 100_000 }, (_, i) => `fn_${i}`);
      await createFunctions(p.port, names);
      const sorted = [...names].sort((a, b) => (a < b ? -1 : 1));
      const expected = createHash("sha256");
      let bytes = 0;
      for (
        const part of [
          sorted.map((n) => `${n}\t0\t0\t0\n`).join("") + ".\n",
          sorted.map((n) => `${n}\t0\t0\t0\t0\n`).join("") + ".\n",
          sorted.map((n) => `${n}\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n`).join("") + ".\n",
          "OK 0.1.0\n",
        ]
      ) {
        expected.update(part, "latin1");
        bytes += part.length;
      }
      const sock = connect({ port: p.port, host: "127.0.0.1" });
      await new Promise<void>((r) => sock.once("connect", () => r()));
      // Hashed as it arrives, not kept and parsed: the test's client runs on the loop it measures.
      const got = digestOf(sock, bytes, 30_000);
      p.measureFromHere();
      const t0 = performance.now();
      sock.write("status\r\nprioritystatus\r\nfunctions\r\nversion\r\n");
      assert.equal(await got, expected.digest("hex"), "the three listings byte for byte, then the version, in request order");
      report("status, prioritystatus and functions over 100,000 functions", t0);
      sock.destroy();
    }));

  test(
    "a purge on the SQLite store while a worker grabs and a client submits: each job is purged, running or kept exactly once, and a restart finds exactly the rest",
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "gearbox-bulk-"));
      const store = `sqlite:${join(dir, "g.db")}`;
      try {
        const server = createServer({ port: 0, listen: "127.0.0.1", store, adminSlice: 500, logLevel: "silent" });
        await server.start();
        const client = await RawConn.connect(server.port);
        const total = 20_000;
        for (let from = 0; from < total; from += 2000) {
          client.send(Buffer.concat(Array.from({ length: 2000 }, (_, i) => packet(Cmd.SUBMIT_JOB_BG, "f", `u${from + i}`, "w"))));
          for (let i = 0; i < 2000; i++) await client.expectPacket(Cmd.JOB_CREATED, 10_000);
        }
        const admin = await RawConn.connect(server.port);
        const worker = await RawConn.connect(server.port);
        worker.sendPacket(Cmd.CAN_DO, "f");
        admin.send("job purge f\r\n");
        worker.send(Buffer.concat(Array.from({ length: 20 }, () => packet(Cmd.GRAB_JOB))));
        client.send(Buffer.concat(Array.from({ length: 30 }, (_, i) => packet(Cmd.SUBMIT_JOB_BG, "f", `late${i}`, "w"))));
        const purged = Number((await admin.readUntil("\n", 30_000)).slice(3));
        let grabbed = 0;
        for (let i = 0; i < 20; i++) if ((await worker.expectPacket(undefined, 10_000)).code === Cmd.JOB_ASSIGN) grabbed++;
        for (let i = 0; i < 30; i++) await client.expectPacket(Cmd.JOB_CREATED, 10_000);
        assert.ok(purged > 0 && grabbed > 0, `purged ${purged}, grabbed ${grabbed}`);
        assert.equal(purged + grabbed, total, "every job there before the purge is purged or running, none twice");
        const waiting = await admin.adminList("status");
        assert.equal(waiting, `f\t${grabbed + 30}\t${grabbed}\t1\n.\n`, "the running jobs and the 30 submitted during the purge");
        for (const c of [client, admin, worker]) c.close();
        await server.stop();

        const again = createServer({ port: 0, listen: "127.0.0.1", store, logLevel: "silent" });
        await again.start();
        const look = await RawConn.connect(again.port);
        assert.equal(await look.adminList("status"), `f\t${grabbed + 30}\t0\t0\n.\n`, "the store holds exactly the jobs not purged");
        look.close();
        await again.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
