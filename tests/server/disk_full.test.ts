/**
 * A full disk refuses new background jobs with an ERROR, keeps serving, and
 * recovers when space returns. Needs a tiny filesystem: a tmpfs mounted for
 * the test (root only; skipped otherwise).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { startGearbox } from "../helpers/servers.ts";

const mountPoint = mkdtempSync(join(tmpdir(), "gearbox-tiny-"));
const mounted = process.getuid?.() === 0 &&
  spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]).status === 0;

test("a full disk refuses new jobs with QUEUE_ERROR, keeps serving, and recovers when space returns",
  { skip: mounted ? false : "needs root to mount a small tmpfs", timeout: 60_000 }, async () => {
    const filler = join(mountPoint, "filler");
    const server = await startGearbox({ extra: ["--store", `sqlite:${join(mountPoint, "jobs.db")}`] });
    try {
      const c = await RawConn.connect(server.port);
      // Fill most of the disk with a file we can delete later.
      writeFileSync(filler, Buffer.alloc(1200 * 1024));
      const payload = Buffer.alloc(32 * 1024, 7);
      const acked: string[] = [];
      let refused = "";
      for (let i = 0; i < 100 && !refused; i++) {
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "full_fn", `j${i}`, payload);
        const p = await c.expectPacket(undefined, 5000);
        if (p.code === Cmd.JOB_CREATED) acked.push(p.body.toString());
        else {
          assert.equal(p.code, Cmd.ERROR);
          refused = p.args.join(" ");
        }
      }
      assert.match(refused, /^QUEUE_ERROR store: .*(disk full|full)/i);
      assert.ok(acked.length > 0, "some jobs fit before the disk filled");
      // Still serving.
      c.sendPacket(Cmd.ECHO_REQ, "alive");
      assert.equal((await c.expectPacket(Cmd.ECHO_RES)).body.toString(), "alive");
      // Space returns: new jobs are accepted again.
      rmSync(filler);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "full_fn", "after", "small");
      assert.equal((await c.expectPacket(undefined, 5000)).code, Cmd.JOB_CREATED);
      assert.equal(await c.adminList("status"), `full_fn\t${acked.length + 1}\t0\t0\n.\n`);
      c.close();
    } finally {
      await server.stop();
      spawnSync("umount", [mountPoint]);
    }
  });
