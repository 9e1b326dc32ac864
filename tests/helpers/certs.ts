/**
 * Certificates for TLS tests, made at test time with `openssl` in a temp
 * directory: a private CA, a server certificate for localhost and 127.0.0.1,
 * client certificates (signed by the CA, by another CA, expired) and a key
 * that matches none of them. `openssl ca` with explicit start and end dates
 * makes the expired one (Debian bookworm's openssl 3.0 has no -not_after on x509).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CertSet {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** A second server certificate (CN gearbox-two), for reload tests. */
  server2Cert: string;
  server2Key: string;
  clientCert: string;
  clientKey: string;
  /** Signed by a CA the server does not trust. */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
  expiredClientCert: string;
  expiredClientKey: string;
  /** Expired server certificate (signed by the CA), with serverKey. */
  expiredServerCert: string;
  /** A key that matches no certificate here. */
  strayKey: string;
}

function ssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function key(dir: string, name: string): string {
  ssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name]);
  return join(dir, name);
}

function selfCa(dir: string, name: string, cn: string): void {
  key(dir, `${name}.key`);
  ssl(dir, ["req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-days", "30", "-out", `${name}.pem`]);
}

/** Signs `name`'s request with CA `ca` through `openssl ca`, valid from `start` to `end` (YYYYMMDDHHMMSSZ). */
function sign(dir: string, ca: string, name: string, cn: string, ext: string, start: string, end: string): string {
  key(dir, `${name}.key`);
  ssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
  const db = join(dir, `${ca}.db`);
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, "index.txt"), "", { flag: "a" });
  writeFileSync(join(db, "serial"), "01\n");
  const conf = join(dir, `${name}.cnf`);
  writeFileSync(
    conf,
    [
      "[ca]",
      "default_ca=c",
      "[c]",
      `database=${db}/index.txt`,
      `new_certs_dir=${db}`,
      `serial=${db}/serial`,
      "default_md=sha256",
      "policy=p",
      "unique_subject=no",
      "copy_extensions=none",
      "[p]",
      "commonName=supplied",
      "[x]",
      "basicConstraints=CA:FALSE",
      ext,
      "",
    ].join("\n"),
  );
  ssl(dir, [
    "ca",
    "-batch",
    "-config",
    conf,
    "-cert",
    `${ca}.pem`,
    "-keyfile",
    `${ca}.key`,
    "-in",
    `${name}.csr`,
    "-out",
    `${name}.pem`,
    "-notext",
    "-rand_serial",
    "-startdate",
    start,
    "-enddate",
    end,
    "-extensions",
    "x",
  ]); // deno-fmt-ignore
  return join(dir, `${name}.pem`);
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
}

/** Makes every certificate of a CertSet in `dir` (about a second of openssl). */
export function makeCerts(dir: string): CertSet {
  const now = Date.now();
  const from = stamp(new Date(now - 86_400_000));
  const to = stamp(new Date(now + 30 * 86_400_000));
  const pastFrom = stamp(new Date(now - 10 * 86_400_000));
  const pastTo = stamp(new Date(now - 5 * 86_400_000));
  const serverExt = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth";
  const clientExt = "extendedKeyUsage=clientAuth";
  selfCa(dir, "ca", "gearbox test CA");
  selfCa(dir, "other-ca", "another CA");
  return {
    dir,
    ca: join(dir, "ca.pem"),
    serverCert: sign(dir, "ca", "server", "gearbox-one", serverExt, from, to),
    serverKey: join(dir, "server.key"),
    server2Cert: sign(dir, "ca", "server2", "gearbox-two", serverExt, from, to),
    server2Key: join(dir, "server2.key"),
    clientCert: sign(dir, "ca", "client", "worker-1", clientExt, from, to),
    clientKey: join(dir, "client.key"),
    otherCa: join(dir, "other-ca.pem"),
    otherClientCert: sign(dir, "other-ca", "other-client", "intruder", clientExt, from, to),
    otherClientKey: join(dir, "other-client.key"),
    expiredClientCert: sign(dir, "ca", "old-client", "old-worker", clientExt, pastFrom, pastTo),
    expiredClientKey: join(dir, "old-client.key"),
    expiredServerCert: sign(dir, "ca", "old-server", "gearbox-old", serverExt, pastFrom, pastTo),
    strayKey: key(dir, "stray.key"),
  };
}

/**
 * One more client certificate signed by `set`'s CA, valid now: subject CN `cn`, and `san`
 * (e.g. `DNS:app.example,email:ops@example.com`) as its alternative names when given.
 */
export function makeClientCert(set: CertSet, name: string, cn: string, san?: string): { cert: string; key: string } {
  const now = Date.now();
  const ext = "extendedKeyUsage=clientAuth" + (san ? `\nsubjectAltName=${san}` : "");
  const cert = sign(set.dir, "ca", name, cn, ext, stamp(new Date(now - 86_400_000)), stamp(new Date(now + 30 * 86_400_000)));
  return { cert, key: join(set.dir, `${name}.key`) };
}

/**
 * One more server certificate signed by the set's CA, carrying only the
 * names in `altNames` (`DNS:other.example`): for tests of the client's
 * name check. Returns its certificate and key files.
 */
export function makeServerCertFor(set: CertSet, name: string, altNames: string): { cert: string; key: string } {
  const now = Date.now();
  const ext = `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth`;
  const cert = sign(set.dir, "ca", name, name, ext, stamp(new Date(now - 86_400_000)), stamp(new Date(now + 30 * 86_400_000)));
  return { cert, key: join(set.dir, `${name}.key`) };
}
