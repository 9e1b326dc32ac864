/**
 * The core's output: bytes per connection, kept in order (replies held
 * behind a pending store acknowledgement stay behind it), and the effects
 * the edge must carry out. {@link JobServer} extends it.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { copyBytes, encodeHandlePacket, encodePacket, handlePacketSize, writeHandlePacket } from "../protocol/encoder.ts";
import type { Drained, Effect } from "./effect.ts";
import type { PendingAck } from "./record_shapes.ts";
import type { Peer } from "./peer.ts";
import { COPY_LIMIT, type WriteOutput } from "./ready_output.ts";

const NOOP_BYTES = encodePacket(Cmd.NOOP);
const NO_JOB_BYTES = encodePacket(Cmd.NO_JOB);
const NO_EFFECTS: readonly Effect[] = Object.freeze([]);

export class Outbox {
  #effects: Effect[] = [];
  /** Connections with ready output since the last flush, each once (`Peer.dirty`); a gone one is skipped. */
  #dirty: Peer[] = [];

  /**
   * The edge's path: hands each connection's ready output to `write` (which
   * must not keep the array or the buffer: both are reused) and returns the
   * effects. Allocates nothing when there is nothing to do.
   */
  flush(write: WriteOutput): readonly Effect[] {
    const dirty = this.#dirty;
    for (let i = 0; i < dirty.length; i++) {
      const peer = dirty[i]!;
      if (!peer.dirty) continue; // its output was forgotten
      peer.dirty = false;
      // Output made while `write` runs (a drop's) is kept for the next turn of this loop.
      peer.ready.writeTo(peer.id, write);
    }
    dirty.length = 0;
    if (this.#effects.length === 0) return NO_EFFECTS;
    const effects = this.#effects;
    this.#effects = [];
    return effects;
  }

  /** Output and effects produced since the last drain (the arrays are the caller's: {@link flush}, copied). */
  drain(): Drained {
    const output: Drained["output"] = [];
    const effects = this.flush((conn, chunks, buffer, length) =>
      output.push([conn, length > 0 ? [...chunks, buffer.slice(0, length)] : [...chunks]])
    );
    return { output, effects: [...effects] };
  }

  #markDirty(peer: Peer): void {
    if (peer.dirty) return;
    peer.dirty = true;
    this.#dirty.push(peer);
  }

  /** Queues bytes for a connection, behind any reply still waiting for the store. */
  send(peer: Peer, bytes: Uint8Array): void {
    if (peer.push(bytes)) this.#markDirty(peer);
  }

  /**
   * Sends {@link encodeHandlePacket}'s packet: encoded straight into the
   * connection's ready output when nothing waits for the store, so the hot
   * replies (JOB_CREATED, JOB_ASSIGN*, WORK_*) allocate nothing.
   */
  sendHandlePacket(peer: Peer, code: number, prefix: string, id: number, data?: Uint8Array, a1?: string, a2?: string, a3?: string): void {
    const size = handlePacketSize(prefix, id, data, a1, a2, a3);
    if (!peer.readyNow || size > COPY_LIMIT) return this.send(peer, encodeHandlePacket(code, prefix, id, data, a1, a2, a3));
    const at = this.#reserve(peer, size); // before reading the buffer: it may be replaced
    writeHandlePacket(peer.ready.buffer, at, code, size, prefix, id, data, a1, a2, a3);
  }

  /**
   * {@link sendHandlePacket} with the data copied from `bytes[from, to)`, after the
   * arguments: a worker's result read in place, a pooled workload (no view of either).
   */
  sendHandleData(
    peer: Peer,
    code: number,
    prefix: string,
    id: number,
    bytes: Uint8Array,
    from: number,
    to: number,
    a1?: string,
    a2?: string,
    a3?: string,
  ): void {
    const n = to - from;
    const size = handlePacketSize(prefix, id, undefined, a1, a2, a3) + 1 + n;
    if (!peer.readyNow || size > COPY_LIMIT) {
      return this.send(peer, encodeHandlePacket(code, prefix, id, bytes.subarray(from, to), a1, a2, a3));
    }
    const at = this.#reserve(peer, size);
    const out = peer.ready.buffer;
    writeHandlePacket(out, at, code, size, prefix, id, undefined, a1, a2, a3);
    out[at + 11 + size - n] = 0;
    copyBytes(bytes, from, to, out, at + 12 + size - n);
  }

  /** Room for a packet of `size` payload bytes in the peer's ready buffer (read `peer.ready.buffer` after: it may be replaced). */
  #reserve(peer: Peer, size: number): number {
    this.#markDirty(peer);
    return peer.ready.reserve(12 + size);
  }

  sendPacket(peer: Peer, code: number, args: readonly string[], data?: Uint8Array): void {
    this.send(peer, encodePacket(code, args, data));
  }

  /** An ERROR packet; the connection stays usable. */
  error(peer: Peer, code: string, text: string): void {
    this.sendPacket(peer, Cmd.ERROR, [code, text]);
  }

  sendNoJob(peer: Peer): void {
    this.send(peer, NO_JOB_BYTES);
  }

  sendNoop(peer: Peer): void {
    this.send(peer, NOOP_BYTES);
  }

  /** Reserves a reply slot that the store's answer fills in later. */
  hold(peer: Peer): PendingAck {
    return peer.hold();
  }

  effect(e: Effect): void {
    this.#effects.push(e);
  }

  closeConnection(peer: Peer, reason: string): void {
    this.effect({ kind: "close", conn: peer.id, reason });
  }

  /** Moves output released by resolved acknowledgements to ready. */
  release(peer: Peer): void {
    if (peer.release()) this.#markDirty(peer);
  }

  /** Drops pending output of a connection that is gone, at once: ready bytes and replies waiting for the store. */
  forgetOutput(peer: Peer): void {
    peer.dirty = false;
    peer.ready.clear();
    peer.held = [];
    peer.heldBytes = 0;
    peer.streaming = undefined;
  }
}
