/**
 * The transport port: what the server needs from TCP, and the choice of
 * adapter. On Bun the native `Bun.listen` socket is used (profiling showed
 * node:net's stream layer costing most of the server's CPU in write calls);
 * elsewhere `node:net`.
 *
 * @module
 */
import { listenBun } from "./net_bun.ts";
import { listenNode } from "./net_node.ts";

/** One accepted TCP connection. */
export interface NetSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Queues bytes; returns false when the kernel buffer is full (wait for `drain`). */
  write(bytes: Uint8Array): boolean;
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
}

/** A listening socket. */
export interface NetListener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting; existing connections are left alone. */
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  backlog?: number;
  /** Initial delay for TCP keepalive probes in ms; 0 disables keepalive. */
  keepAliveMs?: number;
  /** `auto`: Bun.listen on Bun, node:net elsewhere; `node`: node:net everywhere (serve's `transport` setting). */
  transport?: "auto" | "node";
}
/** Listens for TCP connections with the best adapter for this runtime. */
export function listen(options: ListenOptions, onConnection: (socket: NetSocket) => void): Promise<NetListener> {
  const useNode = options.transport === "node" || typeof (globalThis as { Bun?: unknown }).Bun === "undefined";
  return useNode ? listenNode(options, onConnection) : listenBun(options, onConnection);
}
