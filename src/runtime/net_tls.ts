/**
 * TLS through `node:tls`: on Deno, and on Bun with `transport: node`
 * (net_bun_tls.ts serves Bun otherwise). Client certificates are verified
 * and certificates swapped with `setSecureContext` (docs/runtime.md §11). The connection is handed to the server at TCP accept,
 * before the handshake, so `max_connections` and `handshake_timeout` count
 * and drop connections that never finish one; its bytes flow once the
 * handshake is done. TLS 1.2 and 1.3 only; with a CA, a client certificate
 * is required and verified, and a connection without a verified one is
 * dropped. Nothing is ever served in plaintext on a TLS port.
 *
 * @module
 */
import type { Socket } from "node:net";
import { createSecureContext, createServer, type SecureContextOptions, type TLSSocket } from "node:tls";
import type { ListenOptions, NetListener, NetSocket, PeerIdentity, TlsServerConfig } from "./net.ts";
import { checkKeyPair, identityOf, type PeerCertificate } from "./tls_identity.ts";

class TlsConnection implements NetSocket {
  readonly tls = true;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly #raw: Socket;
  #secure: TLSSocket | undefined;
  #before: Uint8Array[] = [];
  #paused = false;
  #closed = false;
  #dataCb: (chunk: Uint8Array) => void = () => {};
  #drainCb: () => void = () => {};
  #closeCb: () => void = () => {};
  #secureCb: (peer: PeerIdentity | undefined) => void = () => {};

  constructor(raw: Socket) {
    this.#raw = raw;
    const a = raw.remoteAddress ?? "?";
    this.remoteAddress = a.startsWith("::ffff:") ? a.slice(7) : a;
    this.remotePort = raw.remotePort ?? 0;
    raw.on("error", () => {});
    raw.once("close", () => this.#close());
  }

  /** The handshake is done: bytes flow from here on. */
  attach(s: TLSSocket, peer: PeerIdentity | undefined): void {
    if (this.#closed) {
      s.destroy();
      return;
    }
    this.#secure = s;
    s.on("error", () => {});
    s.once("close", () => this.#close());
    s.on("data", (chunk: Uint8Array) => this.#dataCb(chunk));
    s.on("drain", () => this.#drainCb());
    if (this.#paused) s.pause();
    for (const b of this.#before.splice(0)) s.write(b);
    this.#secureCb(peer);
  }

  writeLent(buffer: Uint8Array, length: number): boolean {
    return this.write(buffer.slice(0, length)); // node:tls keeps what it is given until written
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#secure) return this.#secure.write(bytes);
    this.#before.push(bytes);
    return true;
  }

  get bufferedBytes(): number {
    return this.#secure?.writableLength ?? this.#before.reduce((n, b) => n + b.length, 0);
  }

  pause(): void {
    this.#paused = true;
    this.#secure?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#secure?.resume();
  }

  end(): void {
    if (this.#secure) this.#secure.end();
    else this.#raw.destroy();
  }

  destroy(): void {
    this.#secure?.destroy();
    this.#raw.destroy();
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.#dataCb = cb;
  }

  onDrain(cb: () => void): void {
    this.#drainCb = cb;
  }

  onClose(cb: () => void): void {
    this.#closeCb = cb;
  }

  onSecure(cb: (peer: PeerIdentity | undefined) => void): void {
    this.#secureCb = cb;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#before = [];
    this.#closeCb();
  }
}

/** The secure context's options: PEM, TLS 1.2 at least. */
function contextOptions(tls: TlsServerConfig): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, ca: tls.ca, minVersion: "TLSv1.2" };
}

/** Throws when the PEM cannot serve: Deno's createSecureContext accepts a key that is not the certificate's. */
function checkUsable(tls: TlsServerConfig): void {
  createSecureContext(contextOptions(tls));
  checkKeyPair(tls);
}

/** The client certificate's identity, or undefined when none was presented. */
function peerOf(s: TLSSocket): PeerIdentity | undefined {
  return identityOf(s.getPeerCertificate() as PeerCertificate, s.authorized);
}

function key(address: string | undefined, port: number | undefined): string {
  return `${address ?? "?"}:${port ?? 0}`;
}

/** Listens for TLS connections; resolves once the port is bound. */
export function listenTls(options: ListenOptions, tls: TlsServerConfig, onConnection: (socket: NetSocket) => void): Promise<NetListener> {
  checkUsable(tls); // a bad PEM fails here, before the port is bound
  const mutual = tls.ca !== undefined;
  // Accepted, handshake not yet done, by remote address and port (the same on the raw and the TLS socket).
  const waiting = new Map<string, TlsConnection>();
  const server = createServer({ ...contextOptions(tls), requestCert: mutual, rejectUnauthorized: mutual }, (s) => {
    const k = key(s.remoteAddress, s.remotePort);
    const conn = waiting.get(k);
    waiting.delete(k);
    // Bun's node:tls may finish the handshake of an unverified client: drop it here too.
    if (!conn || (mutual && !s.authorized)) {
      s.destroy();
      conn?.destroy();
    } else {
      conn.attach(s, peerOf(s));
    }
  });
  server.on("connection", (raw: Socket) => {
    raw.setNoDelay(true);
    if (options.keepAliveMs && options.keepAliveMs > 0) raw.setKeepAlive(true, options.keepAliveMs);
    const k = key(raw.remoteAddress, raw.remotePort);
    const conn = new TlsConnection(raw);
    waiting.set(k, conn);
    raw.once("close", () => waiting.get(k) === conn && waiting.delete(k));
    onConnection(conn);
  });
  server.on("tlsClientError", () => {}); // the raw socket's close reports it
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port, backlog: options.backlog ?? 511 }, () => {
      server.off("error", reject);
      server.on("error", () => {});
      const addr = server.address();
      resolve({
        host: options.host,
        port: typeof addr === "object" && addr ? addr.port : options.port,
        close: () => {
          if (server.listening) server.close();
          return Promise.resolve();
        },
        reloadTls: (next: TlsServerConfig) => {
          checkUsable(next); // throws on a bad PEM; the old context stays
          server.setSecureContext({ ...contextOptions(next) });
        },
      });
    });
  });
}
