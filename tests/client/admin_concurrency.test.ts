/**
 * Admin replies carry no id, so one connection must run one command at a
 * time: `gearbox top` sends a key's command (kill, retry) while its poller
 * reads `status` and `events` on the same session, and before this rule the
 * poller could read the key's reply as its own (and show it as events).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AdminClient, Client } from "../../mod.ts";
import { type RunningServer, startGearbox } from "../helpers/servers.ts";

describe("an admin connection used by several callers at once", () => {
  let server: RunningServer;
  before(async () => {
    server = await startGearbox();
    const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    for (const fn of ["conc_a", "conc_b", "conc_c"]) await client.submitJob(fn, "x", { background: true });
    client.close();
  });
  after(() => server.stop());

  test("300 commands started together each get their own reply", async () => {
    const admin = new AdminClient({ server: `127.0.0.1:${server.port}` });
    try {
      const calls = Array.from({ length: 100 }, () => [admin.status(), admin.version(), admin.command("show jobs")] as const);
      for (const [status, version, jobs] of calls) {
        assert.deepEqual((await status).map((s) => s.function).filter((f) => f.startsWith("conc_")), ["conc_a", "conc_b", "conc_c"]);
        assert.match(await version, /^\d+\.\d+/);
        assert.equal((await jobs).lines.length, 3);
      }
    } finally {
      admin.close();
    }
  });
});
