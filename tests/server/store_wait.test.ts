/**
 * `store_wait`: at start, serve keeps trying a store that cannot be reached
 * (a database still starting) for that long, then serves, or gives up naming
 * the store. On the real binary and a real PostgreSQL, reached through a
 * forwarder that appears only once the server is waiting.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { Cmd } from "../../src/protocol/commands.ts";
import { freePort, waitForPort } from "../helpers/free_port.ts";
import { testPostgres } from "../helpers/postgres.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { gearboxCommand } from "../helpers/servers.ts";
import { forward, type Forwarder } from "../helpers/tcp_forward.ts";
import { waitUntil } from "../helpers/wait.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;

describe("store_wait", { skip }, () => {
  const forwarders: Forwarder[] = [];
  after(async () => {
    for (const f of forwarders) await f.close();
  });

  test("serve waits for a database that cannot be reached yet, then replays and serves", async () => {
    const url = new URL(await (postgres.ok ? postgres.pg.createDatabase() : Promise.reject(new Error(skip))));
    const target = { host: url.hostname, port: Number(url.port) };
    url.port = String(await freePort()); // nothing listens there until the forwarder starts
    const port = await freePort();
    const [cmd, ...pre] = gearboxCommand();
    const child = spawn(cmd!, [...pre, "serve", "--port", String(port), "--store", url.href, "--store-wait", "30"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await waitUntil("the server to say it waits", () => /store unreachable; waiting for it/.test(err), 15_000);
      assert.equal(child.exitCode, null, "still running while the database is away");
      forwarders.push(await forward(Number(url.port), target));
      await waitForPort(port, 15_000);
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "waited", "", "x");
      await c.expectPacket(Cmd.JOB_CREATED);
      c.close();
      assert.match(err, /store reachable/);
    } finally {
      child.kill("SIGTERM");
      assert.equal(await exited, 0, err);
    }
  });

  test("serve gives up after store_wait, naming the store, and never listens", async () => {
    const dbPort = await freePort();
    const port = await freePort();
    const [cmd, ...pre] = gearboxCommand();
    const url = `postgres://gearbox@127.0.0.1:${dbPort}/jobs?connect_timeout=2`;
    const t0 = Date.now();
    const r = spawnSync(cmd!, [...pre, "serve", "--port", String(port), "--store", url, "--store-wait", "1"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    const took = Date.now() - t0;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /store unreachable; waiting for it/);
    assert.match(
      r.stderr,
      new RegExp(`gearbox serve: cannot reach the PostgreSQL store postgres://gearbox@127\\.0\\.0\\.1:${dbPort}/jobs`),
    );
    assert.ok(took >= 1000, `gave up after ${took} ms, before the 1 s it was told to wait`);
  });
});
