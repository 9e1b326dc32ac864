/**
 * WORK_REPLACE in flight: a running job is replaced by new background jobs
 * in one store transaction (TheSchwartz's replace_with). The old job stays
 * as it is until the commit answers: on success it is gone (the store
 * deleted it in the same transaction) and the worker gets WORK_REPLACED; on
 * failure nothing changed and the worker gets ERROR.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { encodePacket } from "../protocol/encoder.ts";
import { type Job, toStored } from "./job.ts";
import type { PendingAck } from "./record_shapes.ts";
import type { CoreContext } from "./core_context.ts";
import type { Peer } from "./peer.ts";

/** What settling a replacement needs of the core. */
type ReplaceContext = Pick<CoreContext, "count" | "effect" | "finish" | "retire" | "send" | "release">;

interface Replacement {
  old: Job;
  /** The new jobs' ids, in the order of {@link handles}, where they were created (not coalesced here). */
  ids: Map<number, number>;
  peer: Peer;
  ack: PendingAck;
  handles: string[];
  pending: number;
  error: string | undefined;
}

export class Replacements {
  /** By the id of each new job still being committed. */
  readonly #byNewJob = new Map<number, Replacement>();

  /** Starts a replacement; `created` are new jobs in state `persisting`. */
  start(server: ReplaceContext, old: Job, created: Job[], handles: string[], peer: Peer): void {
    const ids = new Map(created.map((j) => [j.id, handles.indexOf(j.handle)]));
    const r: Replacement = { old, ids, peer, ack: peer.hold(), handles, pending: created.length, error: undefined };
    if (created.length === 0) {
      this.#finish(server, r, false);
      server.release(peer);
      return;
    }
    for (const j of created) this.#byNewJob.set(j.id, r);
    server.effect({ kind: "replace", remove: old.persisted ? old.id : undefined, add: created.map(toStored) });
  }

  /**
   * The store answered for a batch; returns the peers whose output moved.
   * `handedOver`: new jobs the store coalesced into another node's live job,
   * whose handle the worker gets instead.
   */
  settle(server: ReplaceContext, ids: readonly number[], error: string | undefined, handedOver?: ReadonlyMap<number, string>): Peer[] {
    if (this.#byNewJob.size === 0) return [];
    const touched: Peer[] = [];
    for (const id of ids) {
      const r = this.#byNewJob.get(id);
      if (!r) continue;
      this.#byNewJob.delete(id);
      if (error !== undefined) r.error = error;
      const other = handedOver?.get(id);
      if (other !== undefined) r.handles[r.ids.get(id)!] = other;
      if (--r.pending > 0) continue;
      this.#finish(server, r, true);
      touched.push(r.peer);
    }
    return touched;
  }

  /** `committed`: the store deleted the old job's row in the replacing transaction. */
  #finish(server: ReplaceContext, r: Replacement, committed: boolean): void {
    if (r.error !== undefined) {
      server.count("replace_failed");
      r.peer.resolve(r.ack, encodePacket(Cmd.ERROR, ["QUEUE_ERROR", r.error]));
      return;
    }
    server.count("replaced");
    const old = r.old;
    if (old.state !== "done") {
      const done = encodePacket(Cmd.WORK_COMPLETE, [old.handle]);
      for (const l of old.listeners) server.send(l, done);
      if (committed) server.retire(old);
      else server.finish(old);
    }
    r.peer.resolve(r.ack, encodePacket(Cmd.WORK_REPLACED, [old.handle], new TextEncoder().encode(r.handles.join(" "))));
  }
}
