/**
 * Packets written in one burst go to the socket as one write: a pipelined
 * batch (a thousand submissions from one `submitMultipleJobs`) was a
 * thousand writes, each a system call, and they took half of the client's
 * CPU per background submission. The first write of a burst goes at once,
 * so a lone request waits for nothing; the writes that follow it before the
 * microtasks queued until then have run (the other requests of one call,
 * each resuming from an `await`) are gathered and written together, in
 * order. The flush is a microtask, not the turn's end: deferring a worker's
 * next GRAB_JOB to `setImmediate` cost a tenth of the foreground rate. A
 * burst past {@link MAX_HELD} bytes is written as it grows.
 *
 * @module
 */

/** Bytes held before they are written without waiting for the burst's end. */
export const MAX_HELD = 256 * 1024;

export class WriteCoalescer {
  readonly #sink: (bytes: Uint8Array) => void;
  #held: Uint8Array[] = [];
  #bytes = 0;
  /** A write went out in this burst and its flush is queued. */
  #armed = false;

  constructor(sink: (bytes: Uint8Array) => void) {
    this.#sink = sink;
  }

  write(bytes: Uint8Array): void {
    if (!this.#armed) {
      this.#armed = true;
      this.#sink(bytes);
      queueMicrotask(() => this.#end());
      return;
    }
    this.#held.push(bytes);
    this.#bytes += bytes.byteLength;
    if (this.#bytes >= MAX_HELD) this.flush();
  }

  /** Writes what is held now (before the socket closes, or past {@link MAX_HELD}). */
  flush(): void {
    const held = this.#held;
    if (held.length === 0) return;
    let out = held[0]!;
    if (held.length > 1) {
      out = new Uint8Array(this.#bytes);
      let at = 0;
      for (const b of held) out.set(b, at), (at += b.byteLength);
    }
    this.#held = [];
    this.#bytes = 0;
    this.#sink(out);
  }

  /** The burst is over: what it gathered goes out, and the next write goes at once again. */
  #end(): void {
    this.flush();
    this.#armed = false;
  }

  /** Forgets what is held (the socket is gone). */
  drop(): void {
    this.#held = [];
    this.#bytes = 0;
  }
}
