/**
 * TCP through `node:net`: the transport on Deno (level with `Deno.listen`
 * there, docs/runtime.md §2) and the fallback everywhere else.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import type { ListenOptions, NetListener, NetSocket, PeerIdentity } from "./net.ts";

class NodeSocket implements NetSocket {
  readonly #s: Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(s: Socket) {
    this.#s = s;
    this.remoteAddress = normalizeAddress(s.remoteAddress ?? "?");
    this.remotePort = s.remotePort ?? 0;
    s.on("error", () => {}); // a reset peer is reported by "close"
  }

  write(bytes: Uint8Array): boolean {
    return this.#s.write(bytes);
  }

  writeLent(buffer: Uint8Array, length: number): boolean {
    return this.#s.write(buffer.slice(0, length)); // node:net keeps what it is given until written
  }

  get bufferedBytes(): number {
    return this.#s.writableLength;
  }

  pause(): void {
    this.#s.pause();
  }

  resume(): void {
    this.#s.resume();
  }

  end(): void {
    this.#s.end();
  }

  destroy(): void {
    this.#s.destroy();
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.#s.on("data", cb);
  }

  onDrain(cb: () => void): void {
    this.#s.on("drain", cb);
  }

  readonly tls = false;

  onSecure(_cb: (peer: PeerIdentity | undefined) => void): void {}

  onClose(cb: () => void): void {
    this.#s.once("close", cb);
  }
}

function normalizeAddress(a: string): string {
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

/** Listens for TCP connections; resolves once the port is bound. */
export function listenNode(options: ListenOptions, onConnection: (socket: NetSocket) => void): Promise<NetListener> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer({ noDelay: true }, (s) => {
      s.setNoDelay(true);
      if (options.keepAliveMs && options.keepAliveMs > 0) s.setKeepAlive(true, options.keepAliveMs);
      onConnection(new NodeSocket(s));
    });
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port, backlog: options.backlog ?? 511 }, () => {
      server.off("error", reject);
      server.on("error", () => {});
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : options.port;
      resolve({
        host: options.host,
        port,
        // node's close callback waits for every open connection; the caller
        // only needs the listening socket gone, which happens at once.
        close: () => {
          if (server.listening) server.close();
          return Promise.resolve();
        },
      });
    });
  });
}
