/**
 * Admin work whose cost grows with the server's state (`job purge` over a
 * million jobs, `status` over 100,000 functions) done in slices of at most
 * `adminSlice` units per step, so no request blocks the loop
 * (docs/reliability.md R1, R2). A task is a generator: each `yield` is one
 * unit of work (one job visited, one row built; a row is yielded as its
 * text), and its return value is the reply's last line.
 *
 * A task that fits in one slice answers at once, as before. A longer one
 * holds the connection's reply slot (later replies wait behind it) and the
 * edge drives the rest with {@link BulkWork.step}, one slice per loop turn,
 * while other connections are served; `busy` tells the edge to hold the
 * connection's later requests until the reply is out.
 *
 * @module
 */
import { encodeText } from "../protocol/encoder.ts";
import type { PendingAck } from "./record_shapes.ts";
import type { Outbox } from "./outbox.ts";
import type { Peer } from "./peer.ts";

/** One unit per yield: a row of the reply, or undefined for work without output. The return is the reply's tail. */
export type BulkTask = Generator<string | undefined, string, void>;

/** The time a task sees: updated before each slice (the core reads no clock). */
export interface BulkClock {
  now: number;
}

/** The output a task writes to: a reply slot held, filled, released. */
export type BulkOutput = Pick<Outbox, "send" | "hold" | "release">;

/** A handler's answer when the reply slot was held for later. */
export const HELD = "";

interface Running {
  readonly peer: Peer;
  readonly task: BulkTask;
  /** Listings are given up when their reader is gone; changes are finished regardless. */
  readonly mutates: boolean;
  reply: PendingAck | undefined;
  chunks: Uint8Array[];
  bytes: number;
}

export class BulkWork {
  readonly clock: BulkClock = { now: 0 };
  readonly #queue: Running[] = [];
  readonly #busy = new Map<Peer, number>();
  readonly #slice: number;

  constructor(slice: number) {
    this.#slice = Math.max(1, slice);
  }

  /** Tasks still running. */
  get pending(): number {
    return this.#queue.length;
  }

  /** True while a reply of this connection is still being built. */
  busy(peer: Peer): boolean {
    return this.#busy.has(peer);
  }

  /**
   * Runs the first slice of a task now: its whole reply when it fits,
   * otherwise {@link HELD} (the reply slot is held and `step` goes on).
   */
  start(out: BulkOutput, peer: Peer, task: BulkTask, mutates: boolean, now: number): string {
    this.clock.now = now;
    const r: Running = { peer, task, mutates, reply: undefined, chunks: [], bytes: 0 };
    const tail = this.#run(r);
    if (tail !== undefined && r.chunks.length === 0) return tail;
    if (tail !== undefined) {
      r.chunks.push(encodeText(tail));
      r.bytes += r.chunks.at(-1)!.length;
      out.send(peer, concat(r.chunks, r.bytes));
      return HELD;
    }
    r.reply = out.hold(peer);
    this.#queue.push(r);
    this.#busy.set(peer, (this.#busy.get(peer) ?? 0) + 1);
    return HELD;
  }

  /** One slice of the oldest task, which then goes to the back; true while work remains. */
  step(out: BulkOutput, now: number): boolean {
    const r = this.#queue.shift();
    if (r === undefined) return false;
    this.clock.now = now;
    const abandoned = r.peer.closed && !r.mutates;
    const tail = abandoned ? "" : this.#run(r);
    if (tail === undefined) {
      this.#queue.push(r);
      return true;
    }
    if (abandoned) r.task.return("");
    const left = this.#busy.get(r.peer)! - 1;
    if (left === 0) this.#busy.delete(r.peer);
    else this.#busy.set(r.peer, left);
    r.chunks.push(encodeText(tail));
    r.bytes += r.chunks.at(-1)!.length;
    r.peer.resolve(r.reply!, concat(r.chunks, r.bytes));
    r.chunks = [];
    out.release(r.peer);
    return this.#queue.length > 0;
  }

  /** Runs up to one slice; returns the tail when the task is done. Rows built are encoded per slice. */
  #run(r: Running): string | undefined {
    let text = "";
    let tail: string | undefined;
    for (let i = 0; i < this.#slice; i++) {
      const next = r.task.next();
      if (next.done) {
        tail = next.value;
        break;
      }
      if (next.value !== undefined) text += next.value + "\n";
    }
    if (text !== "") {
      if (tail !== undefined && r.chunks.length === 0) return text + tail;
      const bytes = encodeText(text);
      r.chunks.push(bytes);
      r.bytes += bytes.length;
    }
    return tail;
  }
}

function concat(chunks: Uint8Array[], bytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
