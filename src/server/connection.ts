/**
 * One client connection at the edge: bytes from the socket through the
 * decoder into the core, and the core's output back out with backpressure.
 * It owns the transport limits (output cap, deadlines); the core owns every
 * job rule.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Decoder, type Frame } from "../protocol/decoder.ts";
import type { NetSocket } from "../runtime/net.ts";
import type { Logger } from "../log/logger.ts";

export interface ConnectionLimits {
  maxPacketBody: number;
  maxAdminLine: number;
  /** Unread output (in the core and the socket) above which the connection's input is paused. */
  maxOutputBuffer: number;
  /** Output above this is not buffered: the connection is dropped. */
  hardOutputBuffer: number;
}

export class Connection {
  readonly id: number;
  readonly socket: NetSocket;
  readonly decoder: Decoder;
  readonly openedAt: number;
  readonly #limits: ConnectionLimits;
  /** A complete frame has arrived at least once. */
  greeted = false;
  bytesIn = 0;
  /** When the current half-received frame started, and bytesIn then. */
  partialSince: number | undefined;
  partialBytesAtStart = 0;
  /** When output went over the cap (input paused), if it is over now. */
  stalledSince: number | undefined;
  /**
   * Frames already decoded but not yet handed to the core: this
   * connection's output is over the cap (a pipeline of cheap requests with
   * large replies, admin listings, must wait for the client to read, not
   * build every reply first), or its input is held (below). At most one
   * decoded piece's worth.
   */
  backlog: Frame[] = [];
  /** An empty array that becomes the backlog while the old one is fed (none allocated per read). */
  spare: Frame[] = [];
  /**
   * Input is held: frames wait in the backlog because this turn's share of
   * the loop is used up, or a reply to this connection is still being built
   * in slices (later requests wait behind it).
   */
  held = false;
  closing = false;
  closed = false;

  constructor(id: number, socket: NetSocket, limits: ConnectionLimits, now: number) {
    this.id = id;
    this.socket = socket;
    this.openedAt = now;
    this.#limits = limits;
    this.decoder = new Decoder({ maxPacketBody: limits.maxPacketBody, maxAdminLine: limits.maxAdminLine, expect: "REQ", text: true });
  }

  /** Bytes read, not yet decoded: decoded a piece at a time, so a large read never costs one long turn. */
  readonly #raw: Uint8Array[] = [];

  /** Takes a read's bytes; {@link decodeNext} decodes them. */
  receive(chunk: Uint8Array): void {
    this.bytesIn += chunk.length;
    this.#raw.push(chunk);
  }

  /** True while read bytes wait to be decoded. */
  get undecoded(): boolean {
    return this.#raw.length > 0;
  }

  /**
   * Decodes up to `max` bytes of what was read (a 512 KiB read of small
   * packets took 15–20 ms at once) into the backlog, and keeps the deadline
   * bookkeeping current.
   */
  decodeNext(now: number, max: number): void {
    const head = this.#raw[0]!;
    let piece = head;
    if (head.length > max) {
      piece = head.subarray(0, max);
      this.#raw[0] = head.subarray(max);
    } else {
      this.#raw.shift();
    }
    const before = this.backlog.length;
    const got = this.decoder.push(piece, this.backlog).length > before;
    if (got) this.greeted = true;
    if (this.decoder.pendingBytes > 0) {
      if (got || this.partialSince === undefined) this.#startPartial(now);
    } else {
      this.partialSince = undefined;
    }
  }

  /** Keeps frames for later; a packet still in the read chunk is copied out of it. */
  defer(frames: Frame[], from: number): void {
    for (let i = from; i < frames.length; i++) {
      const f = frames[i]!;
      if (f.kind === "packet") f.detach();
      this.backlog.push(f);
    }
  }

  /**
   * Writes the chunks, then `buffer[0, length)` (lent for this call only),
   * as one write. Returns false when the output is over the hard cap and
   * the connection must be dropped.
   */
  write(chunks: Uint8Array[], buffer: Uint8Array, length: number): boolean {
    if (this.closed) return true;
    if (chunks.length === 0) this.socket.writeLent(buffer, length);
    else if (length === 0) this.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    else this.socket.write(Buffer.concat([...chunks, buffer.subarray(0, length)]));
    return this.socket.bufferedBytes <= this.#limits.hardOutputBuffer;
  }

  /** True when unread output (socket plus `corePending` bytes the core holds) is over the cap. */
  over(corePending: number): boolean {
    return this.socket.bufferedBytes + corePending > this.#limits.maxOutputBuffer;
  }

  /** Output went over the cap: stop reading until it is read. */
  stall(now: number): void {
    if (this.stalledSince !== undefined) return;
    this.stalledSince = now;
    this.socket.pause();
  }

  /**
   * Output is under the cap again: take input again. A half-received packet
   * was not the client's fault while we did not read, so its clock restarts.
   */
  unstall(now: number): void {
    if (this.stalledSince === undefined) return;
    this.stalledSince = undefined;
    if (this.partialSince !== undefined) this.#startPartial(now);
    if (!this.closing && !this.held) this.socket.resume();
  }

  /** Stops reading: the backlog is handled on later turns. */
  hold(): void {
    if (this.held) return;
    this.held = true;
    this.socket.pause();
  }

  /** The backlog is done: read again (a half-received packet's clock restarts, as in unstall). */
  unhold(now: number): void {
    if (!this.held) return;
    this.held = false;
    if (this.partialSince !== undefined) this.#startPartial(now);
    if (!this.closing && this.stalledSince === undefined) this.socket.resume();
  }

  /** Stops reading and closes once written output is flushed. */
  closeGracefully(): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.end();
  }

  #startPartial(now: number): void {
    this.partialSince = now;
    let undecoded = 0;
    for (const c of this.#raw) undecoded += c.length;
    this.partialBytesAtStart = this.bytesIn - undecoded - this.decoder.pendingBytes;
  }
}

/** Drops a connection the edge gave up on, counted by reason and logged (at most every 10 s a reason). */
export function dropConnection(conn: Connection, reason: string, core: { count(cause: string): void }, logger: Logger): void {
  core.count(`dropped_${reason.replaceAll(" ", "_")}`);
  logger.limited(`drop:${reason}`, 10_000, "warn", "dropping connection", {
    conn: conn.id,
    address: conn.socket.remoteAddress,
    reason,
  });
  conn.socket.destroy();
}
