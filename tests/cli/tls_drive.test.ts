/**
 * `gearbox drive` with TLS (issue 15): a `tls://` server and the `tls_ca`,
 * `tls_cert`, `tls_key` keys reach both the observer and every worker
 * process, so a job submitted over TLS is done by a driven worker; a TLS
 * file that does not exist stops the driver before it starts, naming the
 * file; and a DriverConsole reaches the driver's TLS console (console_tls_cert). The server
 * requires client certificates, so each connection is proven to carry one.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client, DriverConsole } from "../../mod.ts";
import { startDriver } from "../helpers/drive.ts";
import { Peers } from "../helpers/peers.ts";
import { gearboxCommand, type RunningServer } from "../helpers/servers.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { makePki, startTlsGearbox, type TestPki, type TlsGearbox } from "../helpers/tls_server.ts";

const peers = new Peers();
after(() => peers.killAll());
const tempDir = tempDirs();

describe("gearbox drive against a gearbox behind TLS that requires client certificates", () => {
  let pki: TestPki;
  let dir: string;
  let gb: TlsGearbox;
  before(async () => {
    dir = tempDir("gearbox-tls-drive-");
    pki = makePki(dir);
    gb = await startTlsGearbox(pki.server, pki.ca);
  });
  after(() => gb.stop());

  test("a driven command worker given tls_ca, tls_cert and tls_key completes a job submitted over TLS", async () => {
    const tls = { caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile };
    // startDriver reads only the port of the server it is given; `server` below is the TLS address.
    const { driver, consolePort } = await startDriver(peers, { port: gb.port } as RunningServer, dir, {
      server: [`tls://127.0.0.1:${gb.port}`],
      tls_ca: tls.caFile,
      tls_cert: tls.certFile,
      tls_key: tls.keyFile,
      console_tls_cert: pki.server.certFile,
      console_tls_key: pki.server.keyFile,
      jobs: { tls_rev: { command: ["rev"], min_processes: 1, max_processes: 1 } },
    });
    const client = new Client({ servers: [`tls://127.0.0.1:${gb.port}`], tls });
    try {
      const req = await client.submitJob("tls_rev", "hello\n", { timeoutMs: 20_000 });
      assert.equal(req.state, "COMPLETE", String(req.error?.message));
      assert.equal(req.result, "olleh\n");

      // The console speaks TLS itself (console_tls_cert/console_tls_key); DriverConsole reaches it with tls://.
      const console = new DriverConsole({ address: `tls://127.0.0.1:${consolePort}`, tls: { caFile: pki.ca.certFile } });
      try {
        const job = (await console.status()).find((j) => j.name === "tls_rev");
        assert.ok(job, "tls_rev in the console's status");
        assert.ok(job.processes.some((p) => p.jobs_done >= 1), JSON.stringify(job.processes));
      } finally {
        console.close();
      }
    } finally {
      client.close();
      driver.kill("SIGTERM");
      await driver.waitExit(20_000);
    }
  });

  test("a tls_ca file that does not exist stops the driver at start with a configuration error naming it", async () => {
    const config = join(dir, "bad-tls.json.yaml");
    const missing = join(dir, "no-such-ca.pem");
    writeFileSync(config, JSON.stringify({ server: [`tls://127.0.0.1:${gb.port}`], tls_ca: missing, jobs: { x: { command: ["cat"] } } }));
    const [bin, ...pre] = gearboxCommand();
    const r = await peers.start(bin!, [...pre, "drive", "--config", config, "--console-port", "0"], { lifetimeMs: 20_000 }).waitExit(
      15_000,
    );
    assert.equal(r.code, 78, r.stderr);
    assert.ok(r.stderr.includes(missing), r.stderr);
  });
});
