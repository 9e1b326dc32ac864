/**
 * The core's output: bytes per connection, kept in order (replies held
 * behind a pending store acknowledgement stay behind it), and the effects
 * the edge must carry out. {@link JobServer} extends it.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { encodePacket } from "../protocol/encoder.ts";
import type { Drained, Effect } from "./effect.ts";
import type { PendingAck } from "./record_shapes.ts";
import type { Peer } from "./peer.ts";

const NOOP_BYTES = encodePacket(Cmd.NOOP);
const NO_JOB_BYTES = encodePacket(Cmd.NO_JOB);

export class Outbox {
  #effects: Effect[] = [];
  readonly #dirty = new Set<Peer>();

  /** Output and effects produced since the last drain. */
  drain(): Drained {
    const output: Drained["output"] = [];
    for (const peer of this.#dirty) {
      if (peer.ready.length > 0) output.push([peer.id, peer.ready]);
      peer.ready = [];
      peer.readyBytes = 0;
    }
    this.#dirty.clear();
    const effects = this.#effects;
    this.#effects = [];
    return { output, effects };
  }

  /** Queues bytes for a connection, behind any reply still waiting for the store. */
  send(peer: Peer, bytes: Uint8Array): void {
    if (peer.push(bytes)) this.#dirty.add(peer);
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
    if (peer.release()) this.#dirty.add(peer);
  }

  /** Drops pending output of a connection that is gone, at once: ready bytes and replies waiting for the store. */
  forgetOutput(peer: Peer): void {
    this.#dirty.delete(peer);
    peer.ready = [];
    peer.readyBytes = 0;
    peer.held = [];
    peer.heldBytes = 0;
    peer.streaming = undefined;
  }
}
