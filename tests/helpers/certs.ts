/**
 * Certificates for TLS tests, made at test time with `openssl` in a
 * temporary directory: a CA, and certificates it signs for a server (with
 * the names asked for) or a client. Each comes as file paths and PEM text.
 *
 * @example
 * ```ts
 * const dir = tempDir("gearbox-tls-");
 * const ca = makeCa(dir, "test-ca");
 * const server = issue(ca, dir, "server", { dns: ["localhost"], ip: ["127.0.0.1"] });
 * ```
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A certificate and its key, as files and as PEM text. */
export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function pair(certFile: string, keyFile: string): CertPair {
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}

/** A self-signed CA named `name`. */
export function makeCa(dir: string, name: string): CertPair {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  openssl([
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
    ...["-subj", `/CN=${name}`, "-keyout", keyFile, "-out", certFile],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  return pair(certFile, keyFile);
}

/**
 * A certificate signed by `ca`: for a server, carrying `dns` and `ip` as its
 * names, or (`client: true`) for a client.
 */
export function issue(
  ca: CertPair,
  dir: string,
  name: string,
  options: { dns?: string[]; ip?: string[]; client?: boolean } = {},
): CertPair {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const names = [...(options.dns ?? []).map((d) => `DNS:${d}`), ...(options.ip ?? []).map((i) => `IP:${i}`)];
  writeFileSync(
    ext,
    [
      "basicConstraints=CA:FALSE",
      `extendedKeyUsage=${options.client ? "clientAuth" : "serverAuth"}`,
      ...(names.length > 0 ? [`subjectAltName=${names.join(",")}`] : []),
    ].join("\n") + "\n",
  );
  openssl([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    keyFile,
    "-out",
    csr,
  ]);
  openssl([
    ...["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial"],
    ...["-days", "2", "-extfile", ext, "-out", certFile],
  ]);
  return pair(certFile, keyFile);
}
