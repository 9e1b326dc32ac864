/**
 * A gearbox on TLS for the client-side TLS tests: gearbox's own TLS job
 * port (`tlsCert`, `tlsKey`, and `tlsCa` for mutual TLS), in this process,
 * with the certificates of certs.ts (a CA, a server certificate for
 * `localhost` and 127.0.0.1, a client certificate, another CA) plus one for
 * `other.example` only. Each comes as files and as PEM text.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type GearboxServer } from "../../mod.ts";
import { makeCerts, makeServerCertFor } from "./certs.ts";

/** A certificate (or a CA) and its key, as files and PEM text. */
export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestPki {
  ca: CertPair;
  /** A CA that signed none of the certificates the servers present. */
  otherCa: CertPair;
  server: CertPair;
  /** A server certificate for `other.example` only. */
  wrongName: CertPair;
  client: CertPair;
}

function pair(certFile: string, keyFile: string): CertPair {
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}

export function makePki(dir: string): TestPki {
  const set = makeCerts(dir);
  const wrong = makeServerCertFor(set, "wrong-name", "DNS:other.example");
  return {
    ca: pair(set.ca, join(dir, "ca.key")),
    otherCa: pair(set.otherCa, join(dir, "other-ca.key")),
    server: pair(set.serverCert, set.serverKey),
    wrongName: pair(wrong.cert, wrong.key),
    client: pair(set.clientCert, set.clientKey),
  };
}

export interface TlsGearbox {
  server: GearboxServer;
  /** The TLS job port. */
  port: number;
  stop(): Promise<void>;
}

/** A gearbox whose job port speaks TLS with `cert`; with `clientCa`, it refuses clients without a certificate that CA signed. */
export async function startTlsGearbox(cert: CertPair, clientCa?: CertPair): Promise<TlsGearbox> {
  const server = createServer({
    port: 0,
    listen: "127.0.0.1",
    store: "memory:",
    logLevel: "silent",
    tlsCert: cert.certFile,
    tlsKey: cert.keyFile,
    ...(clientCa ? { tlsCa: clientCa.certFile } : {}),
  });
  await server.start();
  return { server, port: server.port, stop: () => server.stop() };
}
