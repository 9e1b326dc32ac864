import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type GearboxServer, MemoryStore } from "../../mod.ts";
import type { StoreBatch } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { waitUntil } from "../helpers/wait.ts";
import { sendRead } from "../helpers/inproc.ts";
import { echoBarrier, withStoreServer } from "../helpers/store_server.ts";

/** A memory store whose commits wait for the test to open the gate (or fail). */
class GatedStore extends MemoryStore {
  batches: StoreBatch[] = [];
  #gate: { resolve: () => void; reject: (e: Error) => void }[] = [];
  override commit(batch: StoreBatch): Promise<void> {
    this.batches.push({ add: [...batch.add], remove: [...batch.remove] });
    return new Promise((resolve, reject) => {
      this.#gate.push({
        resolve: () => super.commit(batch).then(resolve),
        reject,
      });
    });
  }
  waiting(): number {
    return this.#gate.length;
  }
  release(): void {
    for (const g of this.#gate.splice(0)) g.resolve();
  }
  fail(message: string): void {
    for (const g of this.#gate.splice(0)) g.reject(new Error(message));
  }
}

/**
 * Asserts that `c` has received nothing so far. An ECHO round trip on a
 * fresh connection comes first (c's own replies wait behind the commit, so
 * it cannot echo), then one turn of the loop: anything the server wrote to
 * `c` before that echo's reply was readable in the same poll and has been
 * read by now.
 */
async function nothingYet(port: number, c: RawConn, what: string): Promise<void> {
  await echoBarrier(port);
  assert.equal(c.buffered.length, 0, what);
}

function withServer(fn: (port: number, store: GatedStore, server: GearboxServer) => Promise<void>): Promise<void> {
  const store = new GatedStore();
  return withStoreServer(store, () => store.release(), fn);
}

describe("acknowledgements wait for the store", () => {
  test("JOB_CREATED for background jobs is written only after the commit, one commit for a pipelined burst", async () => {
    await withServer(async (port, store) => {
      const c = await RawConn.connect(port);
      const burst = [];
      for (let i = 0; i < 100; i++) burst.push(packet(Cmd.SUBMIT_JOB_BG, "ack_fn", `u${i}`, `job ${i}`));
      burst.push(packet(Cmd.ECHO_REQ, "after"));
      c.send(Buffer.concat(burst));
      await waitUntil("a commit waits at the store", () => store.waiting() === 1, 2000);
      await nothingYet(port, c, "no JOB_CREATED (nor the echo behind them) before the commit");
      assert.equal(store.batches.length, 1);
      assert.equal(store.batches[0]!.add.length, 100);
      store.release();
      const handles = new Set<string>();
      for (let i = 0; i < 100; i++) handles.add((await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1"));
      assert.equal(handles.size, 100);
      // The echo was sent after the submits and is answered after them.
      assert.equal((await c.expectPacket(Cmd.ECHO_RES)).body.toString(), "after");
      c.close();
    });
  });

  test("a pipelined burst larger than one socket read still shares one commit", async () => {
    await withServer(async (port, store, server) => {
      const c = await RawConn.connect(port);
      const burst = [];
      for (let i = 0; i < 1500; i++) burst.push(packet(Cmd.SUBMIT_JOB_BG, "burst_fn", `u${i}`, "x".repeat(150)));
      const bytes = Buffer.concat(burst);
      assert.ok(bytes.length > 4 * 65536, `a burst of ${bytes.length} bytes takes several reads`);
      c.send(bytes);
      await waitUntil("a commit waits at the store", () => store.waiting() === 1, 5000);
      assert.deepEqual(store.batches.map((b) => b.add.length), [1500], "the first commit holds the whole burst");
      store.release();
      for (let i = 0; i < 1500; i++) await c.expectPacket(Cmd.JOB_CREATED);
      assert.equal(server.stats.commits, 1);
      c.close();
    });
  });

  test("a failed commit refuses each submission with QUEUE_ERROR and no job is ever offered", async () => {
    await withServer(async (port, store) => {
      const c = await RawConn.connect(port);
      const w = await RawConn.connect(port);
      c.send(Buffer.concat([packet(Cmd.SUBMIT_JOB_BG, "fail_fn", "a", "x"), packet(Cmd.SUBMIT_JOB_BG, "fail_fn", "b", "y")]));
      await waitUntil("a commit waits at the store", () => store.waiting() === 1, 2000);
      store.fail("disk full");
      for (let i = 0; i < 2; i++) {
        const e = await c.expectPacket(Cmd.ERROR);
        assert.deepEqual(e.args, ["QUEUE_ERROR", "store: disk full"]);
      }
      w.sendPacket(Cmd.CAN_DO, "fail_fn");
      w.sendPacket(Cmd.GRAB_JOB);
      await w.expectPacket(Cmd.NO_JOB);
      assert.equal(await c.adminList("status"), "fail_fn\t0\t0\t1\n.\n");
      c.close();
      w.close();
    });
  });

  test("a coalesced submission of a job still being committed waits for the same acknowledgement", async () => {
    await withServer(async (port, store, server) => {
      const a = await RawConn.connect(port);
      const b = await RawConn.connect(port);
      a.sendPacket(Cmd.SUBMIT_JOB_BG, "co_fn", "same", "x");
      await waitUntil("a commit waits at the store", () => store.waiting() === 1, 2000);
      const submit = packet(Cmd.SUBMIT_JOB, "co_fn", "same", "x");
      await sendRead(server, b, submit);
      await nothingYet(port, b, "the coalesced submission waits for the same commit");
      store.release();
      const ha = (await a.expectPacket(Cmd.JOB_CREATED)).body.toString();
      const hb = (await b.expectPacket(Cmd.JOB_CREATED)).body.toString();
      assert.equal(ha, hb);
      a.close();
      b.close();
    });
  });

  test("jobs in the store come back with their handles when the server restarts on it", async () => {
    const store = new MemoryStore();
    const first = createServer({ port: 0, logLevel: "silent", storeInstance: store });
    await first.start();
    const c = await RawConn.connect(first.port);
    c.sendPacket(Cmd.SUBMIT_JOB_LOW_BG, "replay_fn", "r1", "payload");
    const handle = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString();
    c.close();
    await first.stop();
    const second = createServer({ port: 0, logLevel: "silent", storeInstance: store });
    await second.start();
    try {
      const w = await RawConn.connect(second.port);
      w.sendPacket(Cmd.CAN_DO, "replay_fn");
      w.sendPacket(Cmd.GRAB_JOB_UNIQ);
      const job = await w.expectPacket(Cmd.JOB_ASSIGN_UNIQ);
      assert.deepEqual(job.args, [handle, "replay_fn", "r1", "payload"]);
      w.sendPacket(Cmd.WORK_COMPLETE, handle, "ok");
      await waitUntil("the store is empty", () => store.size === 0, 2000);
      w.close();
    } finally {
      await second.stop();
    }
  });
});
