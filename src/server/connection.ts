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

export interface ConnectionLimits {
  maxPacketBody: number;
  maxAdminLine: number;
  /** Unread output above which the connection's input is paused. */
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
  closing = false;
  closed = false;

  constructor(id: number, socket: NetSocket, limits: ConnectionLimits, now: number) {
    this.id = id;
    this.socket = socket;
    this.openedAt = now;
    this.#limits = limits;
    this.decoder = new Decoder({ maxPacketBody: limits.maxPacketBody, maxAdminLine: limits.maxAdminLine, expect: "REQ", text: true });
  }

  /** Decodes a chunk and keeps the deadline bookkeeping current. */
  decode(chunk: Uint8Array, now: number): Frame[] {
    this.bytesIn += chunk.length;
    const frames = this.decoder.push(chunk);
    if (frames.length > 0) this.greeted = true;
    if (this.decoder.pendingBytes > 0) {
      if (frames.length > 0 || this.partialSince === undefined) {
        this.partialSince = now;
        this.partialBytesAtStart = this.bytesIn - this.decoder.pendingBytes;
      }
    } else {
      this.partialSince = undefined;
    }
    return frames;
  }

  /**
   * Writes the chunks as one write. Returns false when the output is over
   * the hard cap and the connection must be dropped.
   */
  write(chunks: Uint8Array[], now: number): boolean {
    if (this.closed) return true;
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    this.socket.write(bytes);
    const buffered = this.socket.bufferedBytes;
    if (buffered > this.#limits.hardOutputBuffer) return false;
    if (buffered > this.#limits.maxOutputBuffer && this.stalledSince === undefined) {
      this.stalledSince = now;
      this.socket.pause();
    }
    return true;
  }

  /** The socket drained its output: take input again. */
  drained(): void {
    if (this.stalledSince !== undefined && this.socket.bufferedBytes <= this.#limits.maxOutputBuffer) {
      this.stalledSince = undefined;
      if (!this.closing) this.socket.resume();
    }
  }

  /** Stops reading and closes once written output is flushed. */
  closeGracefully(): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.end();
  }
}
