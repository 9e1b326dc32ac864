/**
 * A gearbox reached over TLS for the client-side TLS tests: an in-process
 * plaintext server behind a TLS-terminating forwarder (tls_forward.ts),
 * with certificates made at test time (certs.ts): a CA, a server
 * certificate for `localhost` and 127.0.0.1, one for another name only,
 * and a client certificate.
 */
import { createServer, type GearboxServer } from "../../mod.ts";
import { type CertPair, issue, makeCa } from "./certs.ts";
import { tlsForward, type TlsForwarder } from "./tls_forward.ts";

export interface TestPki {
  ca: CertPair;
  /** A CA that signed none of the others. */
  otherCa: CertPair;
  server: CertPair;
  /** A server certificate for `other.example` only. */
  wrongName: CertPair;
  client: CertPair;
}

export function makePki(dir: string): TestPki {
  const ca = makeCa(dir, "test-ca");
  return {
    ca,
    otherCa: makeCa(dir, "other-ca"),
    server: issue(ca, dir, "server", { dns: ["localhost"], ip: ["127.0.0.1"] }),
    wrongName: issue(ca, dir, "wrong-name", { dns: ["other.example"] }),
    client: issue(ca, dir, "client", { client: true }),
  };
}

export interface TlsGearbox {
  server: GearboxServer;
  /** The TLS port. */
  port: number;
  stop(): Promise<void>;
}

/** A gearbox whose TLS port presents `cert`; with `clientCa`, it refuses clients without a certificate that CA signed. */
export async function startTlsGearbox(cert: CertPair, clientCa?: CertPair): Promise<TlsGearbox> {
  const server = createServer({ port: 0, listen: "127.0.0.1", store: "memory:", logLevel: "silent" });
  await server.start();
  let front: TlsForwarder;
  try {
    front = await tlsForward({ host: "127.0.0.1", port: server.port }, {
      cert: cert.cert,
      key: cert.key,
      ...(clientCa ? { ca: clientCa.cert, requireClientCert: true } : {}),
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    server,
    port: front.port,
    stop: async () => {
      await front.close();
      await server.stop();
    },
  };
}
