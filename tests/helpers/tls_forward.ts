/**
 * A TLS-terminating forwarder on 127.0.0.1: accepts TLS with the given
 * certificate (asking for a client certificate signed by `ca` when
 * `requireClientCert`) and pipes the plaintext to a target: a drive
 * console, which has no TLS listener of its own here, reached by a
 * DriverConsole over TLS.
 */
import { connect, type Socket } from "node:net";
import { createServer, type TLSSocket } from "node:tls";

export interface TlsForwarder {
  readonly port: number;
  close(): Promise<void>;
}

export async function tlsForward(
  target: { host: string; port: number },
  tls: { cert: string; key: string; ca?: string; requireClientCert?: boolean },
): Promise<TlsForwarder> {
  const sockets = new Set<Socket | TLSSocket>();
  const server = createServer({
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca ? { ca: tls.ca } : {}),
    requestCert: tls.requireClientCert === true,
    rejectUnauthorized: tls.requireClientCert === true,
    minVersion: "TLSv1.2",
  }, (inbound) => {
    const outbound = connect(target.port, target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  server.on("tlsClientError", () => {});
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
