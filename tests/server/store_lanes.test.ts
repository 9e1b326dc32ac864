import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type GearboxServer, MemoryStore } from "../../mod.ts";
import type { StoreBatch } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { waitUntil } from "../helpers/wait.ts";
import { echoBarrier, withStoreServer } from "../helpers/store_server.ts";

/** A memory store taking two commits at once, each waiting until the test releases or fails it by its number. */
class LanedStore extends MemoryStore {
  readonly commitLanes = 2;
  batches: StoreBatch[] = [];
  readonly #gates = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  override commit(batch: StoreBatch): Promise<void> {
    const n = this.batches.push({ add: [...batch.add], remove: [...batch.remove] }) - 1;
    return new Promise((resolve, reject) => {
      this.#gates.set(n, { resolve: () => super.commit(batch).then(resolve), reject });
    });
  }
  /** Commits begun and neither released nor failed. */
  get waiting(): number {
    return this.#gates.size;
  }
  release(n: number): void {
    this.#gates.get(n)!.resolve();
    this.#gates.delete(n);
  }
  fail(n: number, message: string): void {
    this.#gates.get(n)!.reject(new Error(message));
    this.#gates.delete(n);
  }
  releaseAll(): void {
    for (const n of [...this.#gates.keys()]) this.release(n);
  }
}

function withServer(fn: (port: number, store: LanedStore, server: GearboxServer) => Promise<void>): Promise<void> {
  const store = new LanedStore();
  // Deletes of finished jobs commit at once: nothing waits on a timer.
  return withStoreServer(store, () => store.releaseAll(), fn, { completionCommitDelay: 0 });
}

const burst = (fn: string, from: number, n: number) =>
  Buffer.concat(Array.from({ length: n }, (_, i) => packet(Cmd.SUBMIT_JOB_BG, fn, `u${from + i}`, `job ${from + i}`)));

/** What the server would do for bytes already sent, it did (helpers/store_server.ts). */
const settle = echoBarrier;

const idOf = (handle: string) => Number(handle.slice(handle.lastIndexOf(":") + 1));

/** Sends two bursts of `fn` on `c`, the second once the first's commit waits: both commits are then in flight. */
async function twoInFlight(c: RawConn, store: LanedStore, fn: string, first: number, second: number): Promise<void> {
  c.send(burst(fn, 0, first));
  await waitUntil("one commit in flight", () => store.waiting === 1, 2000);
  c.send(burst(fn, first, second));
  await waitUntil("a second commit begins beside the first", () => store.waiting === 2, 2000);
}

describe("commits of new jobs in several lanes", () => {
  test("a burst sent while a commit is in flight commits beside it, and the replies keep the order of the submissions", async () => {
    await withServer(async (port, store) => {
      const c = await RawConn.connect(port);
      const w = await RawConn.connect(port);
      w.sendPacket(Cmd.CAN_DO, "lane_fn");
      await twoInFlight(c, store, "lane_fn", 50, 50);
      assert.deepEqual(store.batches.map((b) => b.add.length), [50, 50]);
      store.release(1);
      await settle(port);
      assert.equal(c.buffered.length, 0, "the second commit is told only after the first");
      w.sendPacket(Cmd.GRAB_JOB);
      await w.expectPacket(Cmd.NO_JOB); // nor are its jobs queued ahead of the first commit's
      store.release(0);
      const ids = [];
      for (let i = 0; i < 100; i++) ids.push(idOf((await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1")));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "JOB_CREATED in the order the jobs were submitted");
      assert.deepEqual(ids, store.batches.flatMap((b) => b.add.map((j) => j.id)));
      w.sendPacket(Cmd.GRAB_JOB);
      assert.equal(idOf((await w.expectPacket(Cmd.JOB_ASSIGN)).args[0]!), ids[0], "the queue keeps the submission order");
      c.close();
      w.close();
    });
  });

  test("with every lane busy, new jobs wait for a free one and then go in one commit", async () => {
    await withServer(async (port, store) => {
      const c = await RawConn.connect(port);
      await twoInFlight(c, store, "busy_fn", 10, 10);
      c.send(burst("busy_fn", 20, 10));
      await settle(port);
      c.send(burst("busy_fn", 30, 10));
      await settle(port);
      assert.equal(store.batches.length, 2, "no third commit while both lanes are busy");
      store.release(0);
      await waitUntil("the waiting jobs commit once a lane is free", () => store.batches.length === 3, 2000);
      assert.equal(store.batches[2]!.add.length, 20, "both later bursts in one commit");
      store.releaseAll();
      for (let i = 0; i < 40; i++) await c.expectPacket(Cmd.JOB_CREATED);
      c.close();
    });
  });

  test("a completion waits until no commit is in flight and goes alone, with the new jobs that came meanwhile", async () => {
    await withServer(async (port, store) => {
      const c = await RawConn.connect(port);
      const w = await RawConn.connect(port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "done_fn", "first", "x");
      await waitUntil("the first job's commit", () => store.waiting === 1, 2000);
      store.release(0);
      const first = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString("latin1");
      c.send(burst("done_fn", 0, 5));
      await waitUntil("a commit of new jobs in flight", () => store.waiting === 1, 2000);
      w.sendPacket(Cmd.CAN_DO, "done_fn");
      w.sendPacket(Cmd.GRAB_JOB);
      assert.equal((await w.expectPacket(Cmd.JOB_ASSIGN)).args[0], first);
      w.sendPacket(Cmd.WORK_COMPLETE, first, "ok");
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "done_fn", "later", "y");
      await settle(port);
      assert.equal(store.batches.length, 2, "a lane is free, but a batch with a deletion does not go beside a commit");
      store.release(1);
      await waitUntil("the deletion commits once nothing is in flight", () => store.batches.length === 3, 2000);
      const third = store.batches[2]!;
      assert.deepEqual([third.add.map((j) => j.unique), third.remove], [["later"], [idOf(first)]]);
      store.releaseAll();
      for (let i = 0; i < 6; i++) await c.expectPacket(Cmd.JOB_CREATED);
      c.close();
      w.close();
    });
  });

  test("a failed commit beside another refuses only its own jobs, after the other's replies", async () => {
    await withServer(async (port, store) => {
      const c = await RawConn.connect(port);
      await twoInFlight(c, store, "fail_lane_fn", 3, 2);
      store.fail(1, "disk full");
      await settle(port);
      assert.equal(c.buffered.length, 0, "the failure is told only after the commit before it");
      store.release(0);
      for (let i = 0; i < 3; i++) await c.expectPacket(Cmd.JOB_CREATED);
      for (let i = 0; i < 2; i++) assert.deepEqual((await c.expectPacket(Cmd.ERROR)).args, ["QUEUE_ERROR", "store: disk full"]);
      assert.equal(await c.adminList("status"), "fail_lane_fn\t3\t0\t0\n.\n");
      c.close();
    });
  });
});
