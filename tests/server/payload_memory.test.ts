/**
 * Payloads of committed background jobs beyond --max-payload-memory stay in
 * the SQLite store and are read back when a worker takes the job: workers
 * must get every workload byte for byte, before and after a restart, and a
 * workload the store cannot give back fails its job instead of sending a
 * wrong one. The read is asynchronous (a `read` effect): a slow one holds only
 * the grabbing worker's replies, and a graceful drain waits for it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cmd } from "../../src/protocol/commands.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { counter, withServer } from "../helpers/inproc.ts";
import { RawConn, type RawPacket } from "../helpers/raw_conn.ts";
import { waitUntil } from "../helpers/wait.ts";

/** A workload of about 100 bytes with NULs and high bytes, different for each i. */
function workload(i: number): Buffer {
  return Buffer.concat([Buffer.from(`job ${i}\0`, "latin1"), Buffer.from(Array.from({ length: 90 }, (_, k) => (i * 7 + k * 13) & 0xff))]);
}

/** The data of a JOB_ASSIGN_UNIQ: everything after its third NUL. */
function assignedData(p: RawPacket): Buffer {
  let at = 0;
  for (let n = 0; n < 3; n++) at = p.body.indexOf(0, at) + 1;
  return Buffer.from(p.body.subarray(at));
}

/** Grabs `n` jobs and completes them; returns workload by unique. */
async function takeJobs(w: RawConn, n: number): Promise<Map<string, Buffer>> {
  const got = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) {
    w.sendPacket(Cmd.GRAB_JOB_UNIQ);
    const p = await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
    got.set(p.args[2]!, assignedData(p));
    w.sendPacket(Cmd.WORK_COMPLETE, p.args[0]!, "");
  }
  w.sendPacket(Cmd.ECHO_REQ, "sync"); // the completions are read before the caller closes
  await w.expectPacket(Cmd.ECHO_RES);
  return got;
}

const tempDir = () => mkdtempSync(join(tmpdir(), "gearbox-payload-"));

/** An SQLite store whose workload reads wait while held (a slow disk, or a remote database). */
class GatedStore extends SqliteStore {
  #gate: Promise<void> | undefined;
  #open: () => void = () => {};
  /** Reads asked for (answered or not). */
  asked = 0;

  /** Holds every read from now until {@link letReadsThrough}. */
  holdReads(): void {
    this.#gate = new Promise((r) => (this.#open = r));
  }

  letReadsThrough(): void {
    this.#open();
    this.#gate = undefined;
  }

  override async payload(id: number): Promise<Uint8Array | undefined> {
    this.asked++;
    if (this.#gate) await this.#gate;
    return super.payload(id);
  }
}

describe("payloads kept on disk", () => {
  test("past --max-payload-memory, workloads stay in the store and every worker gets its own, byte for byte, before and after a restart", async () => {
    const dir = tempDir();
    const store = `sqlite:${join(dir, "jobs.db")}`;
    try {
      let digestHandle = "";
      await withServer({ store, maxPayloadMemory: 250 }, async (server, port) => {
        const c = await RawConn.connect(port);
        for (let i = 0; i < 20; i++) c.sendPacket(Cmd.SUBMIT_JOB_BG, "pm", `u${i}`, workload(i));
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "pm", "-", workload(99));
        for (let i = 0; i < 20; i++) await c.expectPacket(Cmd.JOB_CREATED);
        digestHandle = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
        assert.ok(server.core.view.payloadBytes <= 250, `${server.core.view.payloadBytes} payload bytes held in memory`);
        assert.match(
          await c.adminList("counters"),
          new RegExp(`^payload_memory_bytes\t${server.core.view.payloadBytes}$`, "m"),
          "operators see it in `counters`",
        );
        assert.equal(
          [...server.core.view.jobs.values()].filter((j) => j.data !== undefined).length,
          2,
          "two of the 96-byte workloads fit in 250 bytes",
        );
        c.sendPacket(Cmd.CAN_DO, "pm");
        const got = await takeJobs(c, 10);
        for (let i = 0; i < 10; i++) assert.deepEqual(got.get(`u${i}`), workload(i), `u${i}`);
        assert.equal(counter(server, "payload_unavailable"), 0);
        c.close();
      });
      await withServer({ store, maxPayloadMemory: 0 }, async (server, port) => {
        const c = await RawConn.connect(port);
        // The "-" job's key is its workload's digest, so the replay read that workload: a resubmission coalesces.
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "pm", "-", workload(99));
        assert.equal((await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1"), digestHandle);
        assert.equal(server.core.view.payloadBytes, 0);
        assert.match(await c.adminList(`job show ${digestHandle}`), /^data_bytes\t97$/m, "job show reads the size back from the store");
        c.sendPacket(Cmd.CAN_DO, "pm");
        const got = await takeJobs(c, 11);
        for (let i = 10; i < 20; i++) assert.deepEqual(got.get(`u${i}`), workload(i), `u${i} after the restart`);
        assert.deepEqual(got.get("-"), workload(99));
        c.close();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a workload the store cannot give back fails its job: the worker gets NO_JOB, the failure log says why, and a retry once the store reads again delivers it", async () => {
    const dir = tempDir();
    let broken = true;
    const store = new (class extends SqliteStore {
      override payload(id: number): Promise<Uint8Array | undefined> {
        if (broken) return Promise.reject(new Error("disk I/O error"));
        return super.payload(id);
      }
    })(join(dir, "jobs.db"));
    try {
      await withServer({ storeInstance: store, maxPayloadMemory: 0 }, async (server, port) => {
        const c = await RawConn.connect(port);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "pm", "lost", workload(1));
        const handle = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
        c.sendPacket(Cmd.CAN_DO, "pm");
        c.sendPacket(Cmd.GRAB_JOB_UNIQ);
        await c.expectPacket(Cmd.NO_JOB);
        assert.equal(counter(server, "payload_unavailable"), 1);
        const shown = await c.adminList(`job show ${handle}`);
        assert.match(shown, /^state\tfailed$/m);
        assert.match(shown, /^failure\t\d+\tworkload unreadable: disk I\/O error$/m);
        broken = false;
        assert.equal(await c.adminLine(`job retry ${handle}`), "OK 1\n");
        c.sendPacket(Cmd.GRAB_JOB_UNIQ);
        const p = await c.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
        assert.equal(p.args[0], handle);
        assert.deepEqual(assignedData(p), workload(1));
        c.close();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a slow read holds only the grabbing worker's replies: its pipelined echo comes after the JOB_ASSIGN, another worker is served meanwhile", async () => {
    const dir = tempDir();
    const store = new GatedStore(join(dir, "jobs.db"));
    try {
      await withServer({ storeInstance: store, maxPayloadMemory: 0 }, async (_server, port) => {
        const c = await RawConn.connect(port);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "pm", "slow", workload(1));
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "pm", "fast", workload(2));
        await c.expectPacket(Cmd.JOB_CREATED);
        await c.expectPacket(Cmd.JOB_CREATED);
        const w1 = await RawConn.connect(port);
        const w2 = await RawConn.connect(port);
        store.holdReads();
        w1.sendPacket(Cmd.CAN_DO, "pm");
        w1.sendPacket(Cmd.GRAB_JOB_UNIQ);
        w1.sendPacket(Cmd.ECHO_REQ, "after the grab");
        await waitUntil("the first read", () => store.asked === 1);
        w2.sendPacket(Cmd.ECHO_REQ, "not blocked");
        assert.equal((await w2.expectPacket(Cmd.ECHO_RES, 1000)).body.toString(), "not blocked");
        assert.equal(w1.buffered.length, 0, "nothing for the grabbing worker while its read is held, not even its echo");
        store.letReadsThrough();
        const p = await w1.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
        assert.equal(p.args[2], "slow");
        assert.deepEqual(assignedData(p), workload(1));
        assert.equal((await w1.expectPacket(Cmd.ECHO_RES)).body.toString(), "after the grab");
        w2.sendPacket(Cmd.CAN_DO, "pm");
        w2.sendPacket(Cmd.GRAB_JOB_UNIQ);
        assert.deepEqual(assignedData(await w2.expectPacket(Cmd.JOB_ASSIGN_UNIQ)), workload(2));
        for (const x of [c, w1, w2]) x.close();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a worker that disconnects during the read leaves its job queued for the next worker, who gets its bytes", async () => {
    const dir = tempDir();
    const store = new GatedStore(join(dir, "jobs.db"));
    try {
      await withServer({ storeInstance: store, maxPayloadMemory: 0 }, async (server, port) => {
        const c = await RawConn.connect(port);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "pm", "u", workload(3));
        await c.expectPacket(Cmd.JOB_CREATED);
        const w1 = await RawConn.connect(port);
        store.holdReads();
        w1.sendPacket(Cmd.CAN_DO, "pm");
        w1.sendPacket(Cmd.GRAB_JOB_UNIQ);
        await waitUntil("the read", () => store.asked === 1);
        w1.close();
        await waitUntil("the worker's close", () => server.core.view.peers.size === 1);
        assert.match(await c.adminList("status"), /^pm\t1\t0\t0$/m, "queued again, not running");
        store.letReadsThrough();
        await waitUntil("the late read", () => server.core.view.reading === 0);
        const w2 = await RawConn.connect(port);
        w2.sendPacket(Cmd.CAN_DO, "pm");
        w2.sendPacket(Cmd.GRAB_JOB_UNIQ);
        assert.deepEqual(assignedData(await w2.expectPacket(Cmd.JOB_ASSIGN_UNIQ)), workload(3));
        c.close();
        w2.close();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a graceful drain waits for a read in flight: the worker gets its job, completes it, and only then the server stops", async () => {
    const dir = tempDir();
    const store = new GatedStore(join(dir, "jobs.db"));
    try {
      await withServer({ storeInstance: store, maxPayloadMemory: 0 }, async (server, port) => {
        const c = await RawConn.connect(port);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "pm", "u", workload(4));
        await c.expectPacket(Cmd.JOB_CREATED);
        store.holdReads();
        c.sendPacket(Cmd.CAN_DO, "pm");
        c.sendPacket(Cmd.GRAB_JOB_UNIQ);
        await waitUntil("the read", () => store.asked === 1);
        let stopped = false;
        void server.drain();
        void server.done.then(() => (stopped = true));
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(stopped, false, "not stopped while the read is in flight");
        store.letReadsThrough();
        const p = await c.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
        assert.deepEqual(assignedData(p), workload(4));
        assert.equal(stopped, false, "the job is running");
        c.sendPacket(Cmd.WORK_COMPLETE, p.args[0]!, "");
        await waitUntil("the drained server to stop", () => stopped);
        c.close();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
