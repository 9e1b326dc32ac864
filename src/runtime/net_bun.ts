/**
 * TCP through Bun's native `Bun.listen`. Bun's `write` may take only part
 * of a buffer; the rest waits in a queue here until the socket drains, and
 * `bufferedBytes` reports that queue so the server can apply backpressure.
 *
 * @module
 */
import type { ListenOptions, NetListener, NetSocket, PeerIdentity } from "./net.ts";

export interface BunSocket {
  readonly remoteAddress: string;
  readonly remotePort?: number;
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(v?: boolean): boolean;
  setKeepAlive(enable?: boolean, initialDelay?: number): boolean;
  data: BunConnection;
}

/** A `Bun.listen` connection; on a TLS listener, bytes written before the handshake wait for it. */
export class BunConnection implements NetSocket {
  readonly #s: BunSocket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #ending = false;
  #closed = false;
  dataCb: (chunk: Uint8Array) => void = () => {};
  drainCb: () => void = () => {};
  closeCb: () => void = () => {};
  secureCb: (peer: PeerIdentity | undefined) => void = () => {};
  readonly tls: boolean;
  /** False on a TLS connection until its handshake completes. */
  #secure: boolean;

  constructor(s: BunSocket, tls = false) {
    this.#s = s;
    this.tls = tls;
    this.#secure = !tls;
    const a = s.remoteAddress ?? "?";
    this.remoteAddress = a.startsWith("::ffff:") ? a.slice(7) : a;
    this.remotePort = s.remotePort ?? 0;
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (!this.#secure) {
      this.#queue.push(bytes);
      this.#queued += bytes.length;
      return true;
    }
    if (this.#queued > 0) {
      this.#queue.push(bytes);
      this.#queued += bytes.length;
      return false;
    }
    const n = this.#s.write(bytes);
    if (n >= bytes.length) return true;
    const rest = bytes.subarray(Math.max(n, 0));
    this.#queue.push(rest);
    this.#queued += rest.length;
    return false;
  }

  writeLent(buffer: Uint8Array, length: number): boolean {
    if (this.#closed) return false;
    if (!this.#secure || this.#queued > 0) return this.write(buffer.slice(0, length));
    const n = this.#s.write(buffer, 0, length);
    if (n >= length) return true;
    const rest = buffer.slice(Math.max(n, 0), length);
    this.#queue.push(rest);
    this.#queued += rest.length;
    return false;
  }

  get bufferedBytes(): number {
    return this.#queued;
  }

  pause(): void {
    this.#s.pause();
  }

  resume(): void {
    this.#s.resume();
  }

  end(): void {
    if (this.#closed) return;
    this.#ending = true;
    if (!this.#secure) this.destroy();
    else if (this.#queued === 0) this.#s.end();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#queue = [];
    this.#queued = 0;
    this.#s.terminate();
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  onSecure(cb: (peer: PeerIdentity | undefined) => void): void {
    this.secureCb = cb;
  }

  /** The TLS handshake is done: what waited is sent, then bytes flow. */
  secured(peer: PeerIdentity | undefined): void {
    if (this.#closed) return;
    this.#secure = true;
    this.#writeQueued();
    this.secureCb(peer);
  }

  onClose(cb: () => void): void {
    this.closeCb = cb;
  }

  /** The kernel took bytes: send what waited here, in order. */
  flushQueue(): void {
    if (!this.#secure || !this.#writeQueued()) return;
    if (this.#ending) this.#s.end();
    else this.drainCb();
  }

  /** Hands queued bytes to the socket in order; true when none are left. */
  #writeQueued(): boolean {
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const n = this.#s.write(head);
      if (n < head.length) {
        if (n > 0) {
          this.#queue[0] = head.subarray(n);
          this.#queued -= n;
        }
        return false;
      }
      this.#queue.shift();
      this.#queued -= head.length;
    }
    return true;
  }

  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
    this.closeCb();
  }
}

/** The `socket` handlers of a `Bun.listen`; `tls` adds the handshake check (docs/runtime.md §11). */
export function bunHandlers(
  options: ListenOptions,
  onConnection: (socket: NetSocket) => void,
  tls?: { mutual: boolean; peerOf(s: BunSocket): PeerIdentity | undefined; authorized(s: BunSocket): boolean },
): Record<string, unknown> {
  return {
    // Plain Uint8Array chunks: Buffer's subarray and .buffer take slow paths.
    binaryType: "uint8array",
    open(s: BunSocket) {
      s.setNoDelay(true);
      if (options.keepAliveMs && options.keepAliveMs > 0) s.setKeepAlive(true, options.keepAliveMs);
      const conn = new BunConnection(s, tls !== undefined);
      s.data = conn;
      onConnection(conn);
    },
    handshake(s: BunSocket, success: boolean) {
      if (!tls) return;
      // Bun completes the handshake of a self-signed client certificate with authorized false: drop it here.
      if (!success || (tls.mutual && !tls.authorized(s))) s.data?.destroy();
      else s.data?.secured(tls.peerOf(s));
    },
    data(s: BunSocket, chunk: Uint8Array) {
      s.data.dataCb(chunk);
    },
    drain(s: BunSocket) {
      s.data.flushQueue();
    },
    close(s: BunSocket) {
      s.data?.closed();
    },
    error(s: BunSocket) {
      s.data?.closed();
    },
  };
}

/** The running `Bun.listen` API, typed as far as the adapters use it. */
export interface BunListener {
  port: number;
  stop(force?: boolean): void;
}
export function bunRuntime(): { listen(o: unknown): BunListener } {
  return (globalThis as unknown as { Bun: { listen(o: unknown): BunListener } }).Bun;
}

/** Listens with `Bun.listen`; resolves once the port is bound. */
export function listenBun(options: ListenOptions, onConnection: (socket: NetSocket) => void): Promise<NetListener> {
  try {
    const listener = bunRuntime().listen({ hostname: options.host, port: options.port, socket: bunHandlers(options, onConnection) });
    let open = true;
    return Promise.resolve({
      host: options.host,
      port: listener.port,
      close: () => {
        if (open) listener.stop(false);
        open = false;
        return Promise.resolve();
      },
    });
  } catch (e) {
    return Promise.reject(e);
  }
}
