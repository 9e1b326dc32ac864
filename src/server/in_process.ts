/**
 * A connection to the server that needs no TCP port (Gearman::Server's
 * `to_inprocess_server`): two ends in memory, the server's looking like an
 * accepted socket, the other like a dialed one. Bytes cross on the next turn
 * of the event loop, never synchronously, so neither side re-enters the
 * other; the server's `pause` holds the other side's bytes, as a full TCP
 * window would.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { NetSocket } from "../runtime/net.ts";
import { type PipedChild, spawnOnSocket } from "../runtime/piped_child.ts";
import type { DialedSocket } from "../runtime/tcp_dial.ts";

/** One direction of the pair: bytes queued for the reader, delivered a turn later. */
class Lane {
  readonly #queue: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;
  #paused = false;
  #reader: ((chunk: Uint8Array) => void) | undefined;
  #onEmpty: (() => void) | undefined;

  get bufferedBytes(): number {
    return this.#bytes;
  }

  push(bytes: Uint8Array): void {
    // Copied: the writer may reuse its buffer once write() returns, as with a socket.
    this.#queue.push(bytes.slice());
    this.#bytes += bytes.length;
    this.#schedule();
  }

  read(cb: (chunk: Uint8Array) => void): void {
    this.#reader = cb;
    this.#schedule();
  }

  onEmpty(cb: () => void): void {
    this.#onEmpty = cb;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#paused || this.#queue.length === 0 || !this.#reader) return;
    this.#scheduled = true;
    setImmediate(() => this.#deliver());
  }

  #deliver(): void {
    this.#scheduled = false;
    while (!this.#paused && this.#queue.length > 0 && this.#reader) {
      const chunk = this.#queue.shift()!;
      this.#bytes -= chunk.length;
      this.#reader(chunk);
    }
    if (this.#queue.length === 0) this.#onEmpty?.();
  }
}

/** The two ends of an in-process connection. */
export interface SocketPair {
  /** What the server accepts. */
  readonly serverSide: NetSocket;
  /** What a client or worker dials. */
  readonly clientSide: DialedSocket;
}

/** Makes a connected pair; `label` is the server side's remote address (shown by `workers`, `clients`). */
export function socketPair(label: string): SocketPair {
  const toServer = new Lane();
  const toClient = new Lane();
  let closed = false;
  const serverClosed: (() => void)[] = [];
  const clientClosed: ((error: Error | undefined) => void)[] = [];
  const close = () => {
    if (closed) return;
    closed = true;
    // After bytes already queued were delivered, as a FIN follows the data.
    setImmediate(() => {
      for (const cb of serverClosed) cb();
      for (const cb of clientClosed) cb(undefined);
    });
  };
  const serverSide: NetSocket = {
    remoteAddress: label,
    remotePort: 0,
    tls: false,
    onSecure: () => {},
    get bufferedBytes() {
      return toClient.bufferedBytes;
    },
    write(bytes) {
      if (!closed) toClient.push(bytes);
      return true;
    },
    writeLent(buffer, length) {
      if (!closed) toClient.push(buffer.subarray(0, length)); // push copies
      return true;
    },
    pause: () => toServer.pause(),
    resume: () => toServer.resume(),
    end: close,
    destroy: close,
    onData: (cb) => toServer.read(cb),
    onDrain: (cb) => toClient.onEmpty(cb),
    onClose: (cb) => void serverClosed.push(cb),
  };
  const clientSide: DialedSocket = {
    write(bytes) {
      if (!closed) toServer.push(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    },
    onData: (cb) => toClient.read(cb),
    onClose: (cb) => void clientClosed.push(cb),
    close,
  };
  return { serverSide, clientSide };
}

/**
 * A server address that Client and Worker accept in `servers`, dialing an
 * in-process connection instead of TCP (see `GearboxServer.toInProcessServer`).
 */
export interface InProcessServer {
  readonly host: string;
  readonly port: number;
  readonly key: string;
  dial(): Promise<DialedSocket>;
}

/** What a worker started by `GearboxServer.startWorker` looks like from outside. */
export interface StartedWorker {
  readonly pid: number;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  kill(signal?: "SIGTERM" | "SIGKILL"): void;
}

/**
 * Wires a child's stdin/stdout to a fresh in-process connection: what the
 * server sends is the child's input, what the child prints is the server's.
 * When either side ends, so does the other.
 */
export function wireChild(
  pair: SocketPair,
  child: Pick<PipedChild, "exited" | "write" | "onStdout" | "endInput">,
): void {
  const { clientSide } = pair;
  clientSide.onData((chunk) => child.write(chunk));
  clientSide.onClose(() => child.endInput());
  child.onStdout((chunk) => clientSide.write(chunk));
  void child.exited.then(() => clientSide.close());
}

/** An address whose every dial is a new connection handed to `accept` (`GearboxServer.toInProcessServer`). */
export function inProcessServer(key: string, accept: (socket: NetSocket) => void, stopping: () => boolean): InProcessServer {
  return {
    host: "in-process",
    port: 0,
    key,
    dial: () => {
      if (stopping()) return Promise.reject(new Error(`${key}: the server is stopping`));
      const pair = socketPair("[in-process]");
      accept(pair.serverSide);
      return Promise.resolve(pair.clientSide);
    },
  };
}

/** Starts a worker program on an in-process connection handed to `accept` (`GearboxServer.startWorker`). */
export async function startStdioWorker(
  argv: readonly string[],
  env: Record<string, string>,
  accept: (socket: NetSocket) => void,
  logger: Logger,
): Promise<StartedWorker> {
  const child = await spawnOnSocket(argv, { ...env, GEARMAN_WORKER_USE_STDIO: "1" });
  const pair = socketPair(`[worker ${child.pid}]`);
  accept(pair.serverSide);
  wireChild(pair, child);
  logger.info("worker process started", { pid: child.pid, command: argv.join(" ") });
  void child.exited.then((code) => logger.info("worker process exited", { pid: child.pid, code }));
  return { pid: child.pid, exited: child.exited, kill: (signal = "SIGTERM") => child.kill(signal) };
}
