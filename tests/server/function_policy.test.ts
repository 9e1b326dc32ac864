import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { startGearbox } from "../helpers/servers.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

test(
  "per-function settings from the config file: a queue limit and a lease that re-offers a hung worker's job",
  { timeout: 20_000 },
  async () => {
    const config = join(tempDir("gearbox-policy-"), "serve.yaml");
    writeFileSync(config, "functions:\n  limited:\n    max_queue: 1\n  leased:\n    grab_for: 1\n");
    const server = await startGearbox({ extra: ["--config", config] });
    try {
      const c = await RawConn.connect(server.port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "limited", "a", "x");
      await c.expectPacket(Cmd.JOB_CREATED);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "limited", "b", "x");
      assert.deepEqual((await c.expectPacket(Cmd.ERROR)).args, ["QUEUE_ERROR", "Job queue is full"]);

      c.sendPacket(Cmd.SUBMIT_JOB_BG, "leased", "", "work");
      const h = (await c.expectPacket(Cmd.JOB_CREATED)).body.toString();
      const hung = await RawConn.connect(server.port);
      const healthy = await RawConn.connect(server.port);
      hung.sendPacket(Cmd.CAN_DO, "leased");
      const grabbedAt = Date.now();
      hung.sendPacket(Cmd.GRAB_JOB);
      await hung.expectPacket(Cmd.JOB_ASSIGN);
      const until = Number(/^grabbed_until\t(\d+)$/m.exec(await c.adminList(`job show ${h}`))?.[1]);
      assert.ok(until >= grabbedAt + 1000 && until <= Date.now() + 1000, `grabbed_until ${until} is the grab time plus grab_for`);
      healthy.sendPacket(Cmd.CAN_DO, "leased");
      healthy.sendPacket(Cmd.PRE_SLEEP);
      const t0 = Date.now();
      await healthy.expectPacket(Cmd.NOOP, 3000);
      assert.ok(Date.now() - t0 >= 700, "not before the lease ends");
      healthy.sendPacket(Cmd.GRAB_JOB);
      assert.equal((await healthy.expectPacket(Cmd.JOB_ASSIGN)).args[0], h);
      hung.sendPacket(Cmd.WORK_COMPLETE, h, "too late");
      assert.equal((await hung.expectPacket(Cmd.ERROR)).args[0], "JOB_NOT_FOUND");
      for (const x of [c, hung, healthy]) x.close();
    } finally {
      await server.stop();
    }
  },
);
