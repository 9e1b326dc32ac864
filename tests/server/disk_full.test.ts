/**
 * A full disk refuses new background jobs with an ERROR, keeps serving, and
 * recovers when space returns, cycle after cycle, and the file stays sound
 * (docs/reliability.md D7). Needs a tiny filesystem: a tmpfs mounted for
 * the test (root only; skipped otherwise).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { startGearbox } from "../helpers/servers.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { checkStore, healthy } from "../../src/store/store_salvage.ts";

const mountPoint = mkdtempSync(join(tmpdir(), "gearbox-tiny-"));
const mounted = process.getuid?.() === 0 &&
  spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]).status === 0;

/** Writes `path` until the filesystem has no room left. */
function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
}

test(
  "20 times over, a full disk refuses new jobs with QUEUE_ERROR, keeps serving, and recovers when space returns; the file then holds exactly the acknowledged jobs",
  { skip: mounted ? false : "needs root to mount a small tmpfs", timeout: 120_000 },
  async () => {
    const filler = join(mountPoint, "filler");
    const db = join(mountPoint, "jobs.db");
    // Deletes of finished jobs commit at once, so each cycle starts with the space its jobs held.
    const server = await startGearbox({ extra: ["--store", `sqlite:${db}`, "--completion-commit-delay", "0"] });
    const acked = new Set<string>();
    const recoveries: number[] = [];
    try {
      const c = await RawConn.connect(server.port);
      const payload = Buffer.alloc(16 * 1024, 7);
      let n = 0;
      for (let cycle = 0; cycle < 20; cycle++) {
        // Fill the disk with a file we can delete later, then submit until refused.
        fillDisk(filler);
        let refused = "";
        for (let i = 0; i < 200 && !refused; i++) {
          c.sendPacket(Cmd.SUBMIT_JOB_BG, "full_fn", `j${n++}`, payload);
          const p = await c.expectPacket(undefined, 5000);
          if (p.code === Cmd.JOB_CREATED) acked.add(p.body.toString());
          else {
            assert.equal(p.code, Cmd.ERROR, `cycle ${cycle}`);
            refused = p.args.join(" ");
          }
        }
        assert.match(refused, /^QUEUE_ERROR store: .*(disk full|full)/i, `cycle ${cycle}: the full disk is reported`);
        c.sendPacket(Cmd.ECHO_REQ, "alive");
        assert.equal((await c.expectPacket(Cmd.ECHO_RES)).body.toString(), "alive", `cycle ${cycle}: still serving`);
        // Space returns: the next small job is accepted.
        rmSync(filler);
        const t0 = Date.now();
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "full_fn", `after${cycle}`, "small");
        const p = await c.expectPacket(undefined, 5000);
        assert.equal(p.code, Cmd.JOB_CREATED, `cycle ${cycle}: accepted again`);
        acked.add(p.body.toString());
        recoveries.push(Date.now() - t0);
        // Drain what this cycle queued, so the next cycle fills the disk again.
        const w = await RawConn.connect(server.port);
        w.sendPacket(Cmd.CAN_DO, "full_fn");
        for (;;) {
          w.sendPacket(Cmd.GRAB_JOB);
          const job = await w.expectPacket(undefined, 5000);
          if (job.code === Cmd.NO_JOB) break;
          w.sendPacket(Cmd.WORK_COMPLETE, job.args[0]!, "");
          acked.delete(job.args[0]!);
        }
        w.sendPacket(Cmd.ECHO_REQ, "deleted"); // answered after the completions' delete commit was started
        await w.expectPacket(Cmd.ECHO_RES);
        w.close();
      }
      // One more batch left queued, to find in the file.
      for (let i = 0; i < 5; i++) {
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "full_fn", `last${i}`, "x");
        acked.add((await c.expectPacket(Cmd.JOB_CREATED)).body.toString());
      }
      c.close();
    } finally {
      await server.stop();
    }
    try {
      console.log(`disk full: 20 cycles, back to accepting within ${Math.max(...recoveries)} ms at most`);
      assert.ok(Math.max(...recoveries) < 5000);
      const report = checkStore(db);
      assert.ok(healthy(report), JSON.stringify(report));
      const store = new SqliteStore(db);
      const handles = [...(await store.open())].map((j) => j.handle);
      await store.close();
      assert.deepEqual(handles.sort(), [...acked].sort(), "the file holds exactly the acknowledged jobs still queued");
    } finally {
      spawnSync("umount", [mountPoint]);
    }
  },
);
