/**
 * TCP through Bun's native `Bun.listen`. Bun's `write` may take only part
 * of a buffer; the rest waits in a queue here until the socket drains, and
 * `bufferedBytes` reports that queue so the server can apply backpressure.
 *
 * @module
 */
import type { ListenOptions, NetListener, NetSocket, PeerIdentity } from "./net.ts";

interface BunSocket {
  readonly remoteAddress: string;
  readonly remotePort?: number;
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(v?: boolean): boolean;
  setKeepAlive(enable?: boolean, initialDelay?: number): boolean;
  data: BunConnection;
}

class BunConnection implements NetSocket {
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

  constructor(s: BunSocket) {
    this.#s = s;
    const a = s.remoteAddress ?? "?";
    this.remoteAddress = a.startsWith("::ffff:") ? a.slice(7) : a;
    this.remotePort = s.remotePort ?? 0;
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
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
    if (this.#queued === 0) this.#s.end();
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

  readonly tls = false;

  onSecure(_cb: (peer: PeerIdentity | undefined) => void): void {}

  onClose(cb: () => void): void {
    this.closeCb = cb;
  }

  /** The kernel took bytes: send what waited here, in order. */
  flushQueue(): void {
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const n = this.#s.write(head);
      if (n < head.length) {
        if (n > 0) {
          this.#queue[0] = head.subarray(n);
          this.#queued -= n;
        }
        return;
      }
      this.#queue.shift();
      this.#queued -= head.length;
    }
    if (this.#ending) this.#s.end();
    else this.drainCb();
  }

  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
    this.closeCb();
  }
}

/** Listens with `Bun.listen`; resolves once the port is bound. */
export function listenBun(options: ListenOptions, onConnection: (socket: NetSocket) => void): Promise<NetListener> {
  const bun = (globalThis as unknown as { Bun: { listen(o: unknown): { port: number; stop(force?: boolean): void } } }).Bun;
  try {
    const listener = bun.listen({
      hostname: options.host,
      port: options.port,
      socket: {
        // Plain Uint8Array chunks: Buffer's subarray and .buffer take slow paths.
        binaryType: "uint8array",
        open(s: BunSocket) {
          s.setNoDelay(true);
          if (options.keepAliveMs && options.keepAliveMs > 0) s.setKeepAlive(true, options.keepAliveMs);
          const conn = new BunConnection(s);
          s.data = conn;
          onConnection(conn);
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
      },
    });
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
