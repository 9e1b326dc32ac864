/**
 * `gearbox serve` and its listeners from the command line: a public address
 * without TLS exits with a how-to, `--insecure` starts and warns, and
 * `--listener` gives roles.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Cmd } from "../../src/protocol/commands.ts";
import { freePort } from "../helpers/free_port.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { expectCreated, expectError } from "../helpers/scenario.ts";
import { gearboxCommand, startGearbox } from "../helpers/servers.ts";
import { makeCerts } from "../helpers/certs.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

function serveOnce(...args: string[]) {
  const [cmd, ...pre] = gearboxCommand();
  return spawnSync(cmd!, [...pre, "serve", "--store", "memory:", "--port", "0", ...args], { encoding: "utf8", timeout: 20_000 });
}

describe("gearbox serve: no accidental exposure", () => {
  test("-L 0.0.0.0 without TLS exits 78 with a message that says how to do it safely", () => {
    const run = serveOnce("-L", "0.0.0.0");
    assert.equal(run.status, 78, run.stderr);
    assert.match(run.stderr, /^gearbox serve: 0\.0\.0\.0:0 is reachable from other hosts and has no TLS/);
    assert.match(run.stderr, /--tls-cert FILE --tls-key FILE/);
    assert.match(run.stderr, /--insecure/);
  });

  test("a public --listener without TLS is refused the same way, and a bad spec names itself", () => {
    const run = serveOnce("--listener", "127.0.0.1:0", "--listener", "0.0.0.0:0,roles=client");
    assert.equal(run.status, 78, run.stderr);
    assert.match(run.stderr, /0\.0\.0\.0:0 is reachable from other hosts/);
    const bad = serveOnce("--listener", "127.0.0.1:0,roles=root");
    assert.equal(bad.status, 78, bad.stderr);
    assert.match(bad.stderr, /--listener 127\.0\.0\.1:0,roles=root\.roles: unknown role "root"/);
  });

  test("-L 0.0.0.0 --insecure starts, serves, and warns at start", async () => {
    const server = await startGearbox({ extra: ["--listen", "0.0.0.0", "--insecure"] });
    try {
      const c = await RawConn.connect(server.port);
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "f", "", "x");
      await expectCreated(c);
      c.close();
      assert.match(server.stderr(), /WARN.*0\.0\.0\.0:\d+ accepts plaintext connections from other hosts/);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test("-L 0.0.0.0 with --tls-cert and --tls-key starts without a warning", async () => {
    const certs = makeCerts(tempDir("gearbox-exposure-"));
    const server = await startGearbox({
      extra: ["--listen", "0.0.0.0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--log-level", "info"],
    });
    try {
      const { conn } = await RawConn.connectTls(server.port, { ca: readFileSync(certs.ca) });
      conn.sendPacket(Cmd.ECHO_REQ, "e");
      await conn.expectPacket(Cmd.ECHO_RES);
      conn.close();
      assert.match(server.stderr(), /listener address="0\.0\.0\.0:\d+" tls=true/);
      assert.doesNotMatch(server.stderr(), /WARN/);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test("--listener gives a listener its roles: a client-only port refuses CAN_DO", async () => {
    const port = await freePort();
    const open = await freePort();
    const server = await startGearbox({
      port: open,
      extra: ["--listener", `127.0.0.1:${port},roles=client`, "--listener", `127.0.0.1:${open}`],
    });
    try {
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.CAN_DO, "f");
      await expectError(c, "PERMISSION_DENIED", "CAN_DO needs the worker role; this connection has client");
      c.sendPacket(Cmd.SUBMIT_JOB_BG, "f", "", "x");
      await expectCreated(c);
      c.close();
    } finally {
      await server.stop();
    }
  });
});
