/**
 * `gearbox serve` refuses to start on TLS files it cannot use, naming the
 * file and why: missing, not PEM, expired, a key that is not the
 * certificate's, a CA file without a certificate; and a certificate without
 * a key (or the reverse) is a configuration error naming the setting. Run
 * through the command line (the binary when built), as an operator would.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { type CertSet, makeCerts } from "../helpers/certs.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { gearboxCommand } from "../helpers/servers.ts";

const tempDir = tempDirs();
let certs: CertSet;
before(() => {
  certs = makeCerts(tempDir("gearbox-tls-files-"));
});

/** Runs serve with these TLS flags; it must exit at once. */
function serve(flags: string[]): { status: number | null; stderr: string } {
  const [cmd, ...pre] = gearboxCommand();
  const args = [...pre, "serve", "--port", "0", "--store", "memory:", "--log-level", "warn", ...flags];
  const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

function refuses(flags: string[], file: string, reason: RegExp): void {
  const r = serve(flags);
  assert.equal(r.status, 78, `exit status (stderr: ${r.stderr})`);
  assert.ok(r.stderr.includes(file), `stderr names ${file}: ${r.stderr}`);
  assert.match(r.stderr, reason);
}

describe("serve refuses TLS files it cannot use", () => {
  test("a certificate file that does not exist is named", () => {
    const missing = join(certs.dir, "missing.pem");
    refuses(["--tls-cert", missing, "--tls-key", certs.serverKey], missing, /no such file/);
  });

  test("a certificate file that is not PEM is named", () => {
    const notPem = join(certs.dir, "server.cnf");
    refuses(["--tls-cert", notPem, "--tls-key", certs.serverKey], notPem, /not PEM/);
  });

  test("an expired certificate is named with its end date", () => {
    refuses(["--tls-cert", certs.expiredServerCert, "--tls-key", certs.serverKey], certs.expiredServerCert, /expired/);
  });

  test("a key that is not the certificate's is named", () => {
    refuses(["--tls-cert", certs.serverCert, "--tls-key", certs.strayKey], certs.strayKey, /does not match/);
  });

  test("a key file holding a certificate is named", () => {
    refuses(["--tls-cert", certs.serverCert, "--tls-key", certs.serverCert], certs.serverCert, /not a private key/);
  });

  test("a CA file without a certificate is named", () => {
    refuses(["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-ca", certs.serverKey], certs.serverKey, /no certificate/);
  });

  test("a certificate without a key is a configuration error naming tls_key", () => {
    refuses(["--tls-cert", certs.serverCert], "tls_key", /without tls_key/);
  });

  test("a CA without a certificate and key is a configuration error naming tls_ca", () => {
    refuses(["--tls-ca", certs.ca], "tls_ca", /tls_ca is set without/);
  });
});
