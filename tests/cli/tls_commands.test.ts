/**
 * The command-line clients over TLS (issue 15): `gearbox submit`, `work`,
 * `status`, `admin`, `jobs` and `store backup` take tls:// servers and
 * `--tls`, `--tls-ca`, `--tls-cert`, `--tls-key`, `--tls-servername`; a bad
 * file is a usage error naming it; a refused certificate is "unreachable"
 * with the reason. The compiled binary runs against a gearbox reached
 * through TLS, with certificates made by openssl at test time.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { AdminClient, Worker } from "../../mod.ts";
import { Peers } from "../helpers/peers.ts";
import { gearboxCommand, ROOT } from "../helpers/servers.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { makePki, startTlsGearbox, type TestPki, type TlsGearbox } from "../helpers/tls_server.ts";
import { waitUntil } from "../helpers/wait.ts";

const peers = new Peers();
after(() => peers.killAll());
const tempDir = tempDirs();

const [BIN, ...PRE] = gearboxCommand();
const DENO = `${ROOT}node_modules/.bin/deno`;
function gearbox(args: string[], input?: string) {
  return peers.start("env", ["NO_COLOR=1", BIN!, ...PRE, ...args], { input, lifetimeMs: 30_000 });
}

let pki: TestPki;
let dir: string;
before(() => {
  dir = tempDir("gearbox-tls-cli-");
  pki = makePki(dir);
});

describe("command-line clients against a gearbox behind TLS", () => {
  let gb: TlsGearbox;
  let s: string;
  before(async () => {
    gb = await startTlsGearbox(pki.server);
    s = `tls://127.0.0.1:${gb.port}`;
  });
  after(() => gb.stop());

  test("gearbox work and gearbox submit given a tls:// server and --tls-ca run a job", async () => {
    const w = gearbox(["work", "tls_rev", "-s", s, "--tls-ca", pki.ca.certFile, "-c", "1", "--", "rev"]);
    const admin = new AdminClient({ server: s, tls: { caFile: pki.ca.certFile } });
    try {
      await waitUntil(
        "a worker for tls_rev",
        async () => (await admin.status()).some((f) => f.function === "tls_rev" && f.workers === 1),
        10_000,
      );
    } finally {
      admin.close();
    }
    const r = await gearbox(["submit", "tls_rev", "-", "-s", s, "--tls-ca", pki.ca.certFile], "hello\n").ok(10_000);
    assert.equal(r.stdout, "olleh\n");
    await w.ok(10_000);
  });

  test("gearbox status --json over tls:// answers, and --tls makes a host:port server TLS", async () => {
    const viaScheme = await gearbox(["status", "-s", s, "--tls-ca", pki.ca.certFile, "--json"]).ok(10_000);
    assert.ok(Array.isArray(JSON.parse(viaScheme.stdout)));
    const viaFlag = await gearbox(["admin", "version", "-s", `localhost:${gb.port}`, "--tls", "--tls-ca", pki.ca.certFile]).ok(10_000);
    assert.match(viaFlag.stdout, /OK|\d/);
  });

  test("gearbox jobs list reads a gearbox over TLS", async () => {
    const r = await gearbox(["jobs", "list", "-s", s, "--tls-ca", pki.ca.certFile, "--json"]).ok(10_000);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  test("without the CA the server's certificate is not trusted: exit 2 with the reason", async () => {
    const r = await gearbox(["status", "-s", s]).waitExit(10_000);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /TLS certificate is not trusted/);
  });

  test("--tls-servername other than the certificate's names is refused naming that name", async () => {
    const r = await gearbox(["admin", "version", "-s", s, "--tls-ca", pki.ca.certFile, "--tls-servername", "elsewhere.example"]).waitExit(
      10_000,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not for the name "elsewhere\.example"/);
  });

  test("a --tls-ca file that does not exist is a usage error naming the flag and the file, for each command", async () => {
    const missing = join(dir, "missing-ca.pem");
    for (
      const args of [
        ["submit", "f", "x", "-s", s],
        ["work", "f", "-s", s],
        ["status", "-s", s],
        ["jobs", "list", "-s", s],
        ["store", "backup", "b.db", "-s", s],
      ]
    ) {
      const r = await gearbox([...args, "--tls-ca", missing, ...(args[0] === "work" ? ["--", "cat"] : [])]).waitExit(10_000);
      assert.equal(r.code, 64, `${args[0]}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`--tls-ca: TLS file ${missing}: no such file`), `${args[0]}: ${r.stderr}`);
    }
  });

  test("--tls-cert without --tls-key is a usage error", async () => {
    const r = await gearbox(["status", "-s", s, "--tls-cert", pki.client.certFile]).waitExit(10_000);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /--tls-cert needs --tls-key/);
  });

  test("gearbox top refuses a --tls-ca file that does not exist before it needs a terminal", async () => {
    const missing = join(dir, "top-ca.pem");
    const r = await gearbox(["top", "-s", s, "--tls-ca", missing]).waitExit(10_000);
    assert.equal(r.code, 64, r.stderr);
    assert.ok(r.stderr.includes(missing), r.stderr);
  });
});

describe("command-line clients against a gearbox behind TLS that requires a client certificate", () => {
  let gb: TlsGearbox;
  let s: string;
  before(async () => {
    gb = await startTlsGearbox(pki.server, pki.ca);
    s = `tls://127.0.0.1:${gb.port}`;
  });
  after(() => gb.stop());

  test("gearbox admin without --tls-cert is refused: exit 2, saying a client certificate is required", async () => {
    const r = await gearbox(["admin", "version", "-s", s, "--tls-ca", pki.ca.certFile]).waitExit(10_000);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /requires a client certificate/);
  });

  test("under deno run, gearbox submit with a client certificate gets a job done by a worker over mutual TLS", {
    skip: existsSync(DENO) ? false : "deno not installed (npm install)",
    timeout: 60_000,
  }, async () => {
    const tls = { caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile };
    const worker = new Worker({ servers: [s], tls });
    worker.register("tls_deno", (job) => `deno:${String(job.data)}`);
    const working = worker.work();
    try {
      const flags = ["--tls-ca", tls.caFile, "--tls-cert", tls.certFile, "--tls-key", tls.keyFile];
      const r = await peers.start(DENO, ["run", "-A", `${ROOT}src/cli/main.ts`, "submit", "tls_deno", "hi", "-s", s, ...flags], {
        lifetimeMs: 60_000,
      }).ok(50_000);
      assert.equal(r.stdout, "deno:hi");
    } finally {
      await worker.stop();
      await working;
    }
  });

  test("gearbox admin and gearbox submit with --tls-cert and --tls-key get through", async () => {
    const tls = ["--tls-ca", pki.ca.certFile, "--tls-cert", pki.client.certFile, "--tls-key", pki.client.keyFile];
    await gearbox(["admin", "version", "-s", s, ...tls]).ok(10_000);
    const r = await gearbox(["submit", "tls_bg", "x", "-b", "-s", s, ...tls]).ok(10_000);
    assert.match(r.stdout, /H:/);
  });
});
