/**
 * TLS through Bun's native `Bun.listen({ tls })` (Bun only; node:tls in
 * net_tls.ts serves Deno and `transport: node`). It costs little more CPU
 * than plaintext, where node:tls's stream layer nearly doubled it
 * (docs/runtime.md §11). `open` fires at TCP accept, before the handshake,
 * so `max_connections` and `handshake_timeout` count a connection that never
 * finishes one; bytes written before the handshake wait for it. TLS 1.2 and
 * 1.3 only; with a CA a client certificate is required, and one Bun
 * completes the handshake for without verifying it (`authorized` false) is
 * dropped here. Bun's `listener.reload` keeps the old certificate, so a
 * reload stops the listener and listens again on the same port in the same
 * turn (open connections keep theirs); a connect in that gap is refused.
 *
 * @module
 */
import type { ListenOptions, NetListener, NetSocket, PeerIdentity, TlsServerConfig } from "./net.ts";
import { bunHandlers, type BunListener, bunRuntime, type BunSocket } from "./net_bun.ts";
import { checkKeyPair, identityOf, type PeerCertificate } from "./tls_identity.ts";

/** What Bun's TLS socket adds to the plain one. */
interface BunTlsSocket extends BunSocket {
  readonly authorized?: boolean;
  getPeerCertificate(): PeerCertificate | undefined;
}

// SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1: TLS 1.2 at least.
const TLS12_AT_LEAST = 0x01000000 | 0x02000000 | 0x04000000 | 0x10000000;

function bunTlsOptions(tls: TlsServerConfig): Record<string, unknown> {
  const mutual = tls.ca !== undefined;
  return {
    cert: tls.cert,
    key: tls.key,
    ...(mutual ? { ca: tls.ca } : {}),
    requestCert: mutual,
    rejectUnauthorized: mutual,
    secureOptions: TLS12_AT_LEAST,
  };
}

function peerOf(s: BunSocket): PeerIdentity | undefined {
  const t = s as BunTlsSocket;
  return identityOf(t.getPeerCertificate(), t.authorized === true);
}

/** Listens for TLS connections with `Bun.listen`; resolves once the port is bound. */
export function listenBunTls(
  options: ListenOptions,
  tls: TlsServerConfig,
  onConnection: (socket: NetSocket) => void,
): Promise<NetListener> {
  try {
    checkKeyPair(tls);
    const bun = bunRuntime();
    const bind = (config: TlsServerConfig, port: number): BunListener => {
      const check = { mutual: config.ca !== undefined, peerOf, authorized: (s: BunSocket) => (s as BunTlsSocket).authorized === true };
      const socket = bunHandlers(options, onConnection, check);
      return bun.listen({ hostname: options.host, port, tls: bunTlsOptions(config), socket });
    };
    let current = tls;
    let listener: BunListener | undefined = bind(tls, options.port);
    const port = listener.port;
    return Promise.resolve({
      host: options.host,
      port,
      close: () => {
        listener?.stop(false);
        listener = undefined;
        return Promise.resolve();
      },
      reloadTls: (next: TlsServerConfig) => {
        checkKeyPair(next); // throws on a bad pair; nothing is stopped
        if (!listener) return;
        listener.stop(false);
        try {
          listener = bind(next, port);
          current = next;
        } catch (e) {
          listener = undefined;
          listener = bind(current, port); // the old certificate again; the reload fails
          throw e;
        }
      },
    });
  } catch (e) {
    return Promise.reject(e);
  }
}
