/**
 * One binary Gearman connection from the client side: packets out, packets
 * in. Servers answer a connection's requests in the order they were sent, so
 * replies (JOB_CREATED, STATUS_RES, OPTION_RES, NO_JOB, JOB_ASSIGN*, ERROR...)
 * are matched to a FIFO of waiters; everything else (WORK_* updates, NOOP)
 * goes to the owner's packet handler.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { Decoder, type Packet } from "../protocol/decoder.ts";
import { encodePacket } from "../protocol/encoder.ts";
import { dial, type DialedSocket } from "../runtime/tcp_dial.ts";
import { ClientError } from "./client_error.ts";
import type { DataEncoder } from "./data_encoder.ts";
import type { ServerAddress, ServerSpec } from "./server_list.ts";
import type { TlsOptions } from "./tls_options.ts";
import { WriteCoalescer } from "./write_coalescer.ts";

/** Packet types that answer a request, in request order. */
const REPLIES: ReadonlySet<number> = new Set([
  Cmd.JOB_CREATED,
  Cmd.OPTION_RES,
  Cmd.STATUS_RES,
  Cmd.STATUS_RES_UNIQUE,
  Cmd.ECHO_RES,
  Cmd.ERROR,
  Cmd.NO_JOB,
  Cmd.JOB_ASSIGN,
  Cmd.JOB_ASSIGN_UNIQ,
  Cmd.JOB_ASSIGN_ALL,
  Cmd.WORK_REPLACED,
]);

interface Waiter {
  resolve(packet: Packet): void;
  /**
   * Runs with the reply before any later packet of the same read is
   * dispatched, so the requester can register what the reply names (a
   * handle) before that job's WORK_* packets arrive.
   */
  onReply?: (packet: Packet) => void;
  reject(error: Error): void;
  /** Stands for a request that some servers answer with ERROR and others not at all. */
  optionalError?: boolean;
  /** Told about the ERROR that answered an `optionalError` waiter. */
  refused?: (packet: Packet) => void;
}

/** What a `Client` and a `Worker` are both told about their servers and payloads. */
export interface GearmanConnectionOptions<T> {
  /**
   * `host:port` or `tls://host:port` of each server (default `127.0.0.1:4730`), or an embedded
   * server's `toInProcessServer()`.
   */
  servers?: readonly ServerSpec[];
  /** TLS settings; when given, every `host:port` server is dialed with TLS too, not only `tls://` ones. */
  tls?: TlsOptions;
  /** Sent with SET_CLIENT_ID, so `gearadmin --workers` can tell connections apart. */
  clientId?: string;
  /** How payloads become bytes (default UTF-8 text). */
  encoder?: DataEncoder<T>;
  /** Deadline for one TCP connect, TLS handshake included (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Largest packet accepted from a server (default 16 MiB). */
  maxPacketBody?: number;
  /**
   * How long a request (SUBMIT_JOB*, GET_STATUS, GRAB_JOB*, OPTION_REQ...)
   * waits for the server's reply before the connection is declared broken
   * (default 30 000 ms; 0 = no bound). A durable server answers a submission
   * after its store commits, usually within milliseconds.
   */
  replyTimeoutMs?: number;
}

/** Default for {@link GearmanConnectionOptions.replyTimeoutMs}. */
export const DEFAULT_REPLY_TIMEOUT_MS = 30_000;

/** Options for {@link PacketConnection.open}. */
export interface PacketConnectionOptions {
  connectTimeoutMs: number;
  /** Largest packet accepted from the server. */
  maxPacketBody?: number;
  /** See {@link GearmanConnectionOptions.replyTimeoutMs}. */
  replyTimeoutMs?: number;
  /** Called with every packet that is not a reply. */
  onPacket: (packet: Packet) => void;
  /** Called once when the connection ends, with the reason unless `close()` ended it. */
  onClose: (error: Error | undefined) => void;
}

/** A connected Gearman socket that speaks `\0REQ` and hears `\0RES`. */
export class PacketConnection {
  readonly server: ServerAddress;
  readonly #socket: DialedSocket;
  /** Every packet goes out through it: a burst of them is one write (write_coalescer.ts). */
  readonly #out: WriteCoalescer;
  readonly #decoder: Decoder;
  readonly #waiters: Waiter[] = [];
  readonly #options: PacketConnectionOptions;
  #closed = false;
  #replyTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last reply came (or the deadline was armed), in `performance.now()` ms. */
  #lastReply = 0;

  private constructor(server: ServerAddress, socket: DialedSocket, options: PacketConnectionOptions) {
    this.server = server;
    this.#socket = socket;
    this.#out = new WriteCoalescer((bytes) => !this.#closed && socket.write(bytes));
    this.#options = options;
    this.#decoder = new Decoder({ expect: "RES", text: false, maxPacketBody: options.maxPacketBody });
    socket.onData((chunk) => this.#receive(chunk));
    socket.onClose((error) => this.#end(error ?? new ClientError("CONNECTION_LOST", `${server.key}: the server closed the connection`)));
  }

  /** Connects, or rejects with `UNREACHABLE` naming the server. */
  static async open(server: ServerAddress, options: PacketConnectionOptions): Promise<PacketConnection> {
    try {
      const socket = server.dial ? await server.dial() : await dial(server.host, server.port, options.connectTimeoutMs, server.tls);
      return new PacketConnection(server, socket, options);
    } catch (e) {
      throw new ClientError("UNREACHABLE", (e as Error).message);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a packet that has no reply (CAN_DO, WORK_*, PRE_SLEEP...). */
  send(code: number, args: readonly string[] = [], data?: Uint8Array): void {
    if (!this.#closed) this.#out.write(encodePacket(code, args, data, "REQ"));
  }

  /**
   * Sends a request and resolves with its reply, ERROR included; rejects if
   * the connection ends first. `onReply` runs synchronously with the reply,
   * before packets that followed it in the same read: a JOB_CREATED and the
   * job's WORK_COMPLETE can arrive together, and an `await` would resume only
   * after the WORK_COMPLETE was dispatched.
   */
  request(code: number, args: readonly string[] = [], data?: Uint8Array, onReply?: (packet: Packet) => void): Promise<Packet> {
    if (this.#closed) return Promise.reject(new ClientError("CONNECTION_LOST", `${this.server.key}: connection closed`));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject, onReply });
      this.#armReplyDeadline();
      this.#out.write(encodePacket(code, args, data, "REQ"));
    });
  }

  /**
   * Sends a packet that gearmand answers with ERROR while other servers stay
   * silent (a WORK_FAIL after WORK_EXCEPTION): an ERROR in its place in the
   * reply order goes to `refused` (if given), any other reply belongs to the
   * next waiter. Also for the extension's packets that answer only failures.
   */
  sendMaybeRefused(code: number, args: readonly string[], data?: Uint8Array, refused?: (packet: Packet) => void): void {
    if (this.#closed) return;
    // No reply deadline: on servers that stay silent this waiter is never answered.
    this.#waiters.push({ resolve: () => {}, reject: () => {}, optionalError: true, refused });
    this.#out.write(encodePacket(code, args, data, "REQ"));
  }

  /** Closes the socket; pending requests reject with `CONNECTION_LOST`. */
  close(): void {
    this.#out.flush(); // packets sent just before closing (a WORK_COMPLETE, say) still go
    this.#end(undefined);
    this.#socket.close();
  }

  #receive(chunk: Uint8Array): void {
    for (const frame of this.#decoder.push(chunk)) {
      if (frame.kind !== "packet") {
        if (frame.kind === "fault" && frame.error.fatal) {
          const error = new ClientError("BAD_RESPONSE", `${this.server.key}: ${frame.error.message}`);
          this.#end(error);
          this.#socket.close();
          return;
        }
        continue;
      }
      frame.detach(); // handed to the caller, who may keep it past this read
      if (!REPLIES.has(frame.code)) {
        this.#options.onPacket(frame);
        continue;
      }
      while (this.#waiters[0]?.optionalError && frame.code !== Cmd.ERROR) this.#waiters.shift();
      const waiter = this.#waiters.shift();
      if (waiter === undefined) continue;
      this.#replied();
      if (waiter.optionalError) waiter.refused?.(frame);
      else {
        waiter.onReply?.(frame);
        waiter.resolve(frame);
      }
    }
  }

  /**
   * A server that stops answering while requests wait (hung, or a peer that
   * vanished without a FIN) is declared broken after `replyTimeoutMs`, so no
   * request waits forever; WORK_* results are not replies and have no such
   * bound (a job may run for hours). One timer serves the whole FIFO: a reply
   * only moves {@link #lastReply}, and the timer, when it fires, waits again
   * for what is left since then (resetting a timer per reply cost a tenth of
   * the client's CPU in a pipelined batch).
   */
  #armReplyDeadline(): void {
    if (this.#replyTimer !== undefined || this.#options.replyTimeoutMs === 0) return;
    this.#lastReply = performance.now();
    this.#waitForReply(this.#replyMs());
  }

  #waitForReply(ms: number): void {
    this.#replyTimer = setTimeout(() => {
      this.#replyTimer = undefined;
      if (!this.#awaitingReply()) return;
      const left = this.#lastReply + this.#replyMs() - performance.now();
      if (left > 1) return this.#waitForReply(left);
      this.#end(new ClientError("TIMEOUT", `${this.server.key}: no reply within ${this.#replyMs()} ms; the connection is closed`));
      this.#socket.close();
    }, ms);
  }

  #replyMs(): number {
    return this.#options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
  }

  /** A reply arrived: the deadline counts from now for the requests still waiting; none left, no timer (it would keep the process alive). */
  #replied(): void {
    this.#lastReply = performance.now();
    if (this.#replyTimer === undefined || this.#awaitingReply()) return;
    clearTimeout(this.#replyTimer);
    this.#replyTimer = undefined;
  }

  #awaitingReply(): boolean {
    return this.#waiters.some((w) => !w.optionalError);
  }

  #end(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out.drop();
    if (this.#replyTimer !== undefined) clearTimeout(this.#replyTimer);
    this.#replyTimer = undefined;
    const reason = error ?? new ClientError("CONNECTION_LOST", `${this.server.key}: connection closed`);
    for (const w of this.#waiters.splice(0)) w.reject(reason);
    this.#options.onClose(error);
  }
}

/** The `ClientError` an ERROR reply stands for. */
export function serverError(packet: Packet, server: ServerAddress): ClientError {
  const [code = "", text = ""] = packet.args;
  return new ClientError("SERVER_ERROR", `${server.key}: ${code}${text ? `: ${text}` : ""}`, code);
}
