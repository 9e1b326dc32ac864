/**
 * The transport port: what the server needs from TCP, and the choice of
 * adapter. On Bun the native `Bun.listen` socket is used (profiling showed
 * node:net's stream layer costing most of the server's CPU in write calls);
 * elsewhere `node:net`. A TLS listener is `Bun.listen` with `tls` on Bun and
 * `node:tls` elsewhere or with `transport: node` (docs/runtime.md §11).
 *
 * @module
 */
import { listenBun } from "./net_bun.ts";
import { listenBunTls } from "./net_bun_tls.ts";
import { listenNode } from "./net_node.ts";
import { listenTls } from "./net_tls.ts";

/** PEM text for a TLS listener. `ca` set = client certificates required and verified (mutual TLS). */
export interface TlsServerConfig {
  cert: string;
  key: string;
  ca?: string;
}

/** Who the client certificate says the peer is (mutual TLS); set after the handshake. */
export interface PeerIdentity {
  authorized: boolean;
  subject: Record<string, string>;
  altNames: string[];
}

/** One accepted TCP connection. */
export interface NetSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Queues bytes (kept as they are until written); returns false when the kernel buffer is full (wait for `drain`). */
  write(bytes: Uint8Array): boolean;
  /** Writes `buffer[0, length)`, which the caller reuses once this returns: what is not handed to the kernel at once is copied. */
  writeLent(buffer: Uint8Array, length: number): boolean;
  /** Bytes queued in user space, not yet handed to the kernel. */
  readonly bufferedBytes: number;
  pause(): void;
  resume(): void;
  /** Closes after queued bytes are written. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  onDrain(cb: () => void): void;
  onClose(cb: () => void): void;
  /** True on a TLS listener's connection (even before its handshake completes). */
  readonly tls: boolean;
  /**
   * Called once when the TLS handshake completes, with the client
   * certificate's identity when one was presented; never for plaintext.
   */
  onSecure(cb: (peer: PeerIdentity | undefined) => void): void;
}

/** A listening socket. */
export interface NetListener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting; existing connections are left alone. */
  close(): Promise<void>;
  /**
   * New connections get this certificate (and CA); open ones keep theirs.
   * Throws when the PEM is rejected, and the old stays in effect. Only on TLS listeners.
   */
  reloadTls?(tls: TlsServerConfig): void;
}

export interface ListenOptions {
  host: string;
  port: number;
  backlog?: number;
  /** Initial delay for TCP keepalive probes in ms; 0 disables keepalive. */
  keepAliveMs?: number;
  /** `auto`: Bun.listen on Bun, node:net elsewhere; `node`: node:net everywhere (serve's `transport` setting). */
  transport?: "auto" | "node";
  /** Serve TLS (1.2 and 1.3 only) instead of plaintext; Bun's native TLS on Bun, node:tls elsewhere (docs/runtime.md §11). */
  tls?: TlsServerConfig;
}
/** Listens for TCP connections with the best adapter for this runtime. */
export function listen(options: ListenOptions, onConnection: (socket: NetSocket) => void): Promise<NetListener> {
  const useNode = options.transport === "node" || typeof (globalThis as { Bun?: unknown }).Bun === "undefined";
  if (options.tls) return useNode ? listenTls(options, options.tls, onConnection) : listenBunTls(options, options.tls, onConnection);
  return useNode ? listenNode(options, onConnection) : listenBun(options, onConnection);
}
