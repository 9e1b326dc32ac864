/**
 * README's "Put it on a network", followed with the binary: a private CA
 * (tests/helpers/certs.ts, openssl at test time), a config with a loopback
 * plaintext listener for admin and a mutual-TLS listener for clients and
 * workers whose roles come from their certificates, then `gearbox work` and
 * `gearbox submit` over TLS with their own certificates.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { AdminClient } from "../../mod.ts";
import { makeCerts, makeClientCert } from "../helpers/certs.ts";
import { freePort } from "../helpers/free_port.ts";
import { Peers } from "../helpers/peers.ts";
import { gearboxCommand, startGearbox } from "../helpers/servers.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { waitUntil } from "../helpers/wait.ts";

const peers = new Peers();
after(() => peers.killAll());
const tempDir = tempDirs();
const [BIN, ...PRE] = gearboxCommand();
const gearbox = (args: string[]) => peers.start(BIN!, [...PRE, ...args], { lifetimeMs: 30_000 });

describe("README: Put it on a network", () => {
  test(
    "a worker and an application reach the TLS listener with their certificates, each only in its role",
    { timeout: 60_000 },
    async () => {
      const dir = tempDir("gearbox-recipe-");
      const certs = makeCerts(dir); // its client certificate is CN=worker-1
      const app = makeClientCert(certs, "app-1", "app-1");
      const [admin, tls] = [await freePort(), await freePort()];
      const config = join(dir, "gearbox.yaml");
      writeFileSync(
        config,
        [
          `tls_cert: ${certs.serverCert}`,
          `tls_key: ${certs.serverKey}`,
          `tls_ca: ${certs.ca}`,
          "listeners:",
          `  - listen: 127.0.0.1:${admin}`,
          `  - listen: 127.0.0.1:${tls}`,
          "    roles: [client, worker]",
          "    tls: true",
          "    cert_roles:",
          `      - { match: "CN=worker-*", roles: [worker] }`,
          `      - { match: "CN=app-*", roles: [client] }`,
          "",
        ].join("\n"),
      );
      const server = await startGearbox({ port: admin, extra: ["--config", config] });
      try {
        const s = `tls://127.0.0.1:${tls}`;
        const asWorker = ["--tls-ca", certs.ca, "--tls-cert", certs.clientCert, "--tls-key", certs.clientKey];
        const asApp = ["--tls-ca", certs.ca, "--tls-cert", app.cert, "--tls-key", app.key];
        const w = gearbox(["work", "shout", "-s", s, ...asWorker, "-c", "1", "--", "tr", "a-z", "A-Z"]);
        const a = new AdminClient({ server: `127.0.0.1:${admin}` });
        try {
          await waitUntil(
            "the worker registered",
            async () => (await a.status()).some((f) => f.function === "shout" && f.workers === 1),
            15_000,
          );
        } finally {
          a.close();
        }
        const refused = await gearbox(["submit", "shout", "hi", "-s", s, ...asWorker]).waitExit(15_000);
        assert.notEqual(refused.code, 0, "a worker's certificate may not submit");
        assert.match(refused.stderr, /PERMISSION_DENIED/);
        const done = await gearbox(["submit", "shout", "hello", "-s", s, ...asApp]).ok(15_000);
        assert.equal(done.stdout, "HELLO");
        await w.ok(15_000);
      } finally {
        await server.stop();
      }
    },
  );
});
