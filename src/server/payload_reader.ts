/**
 * The edge's half of a workload read (a `read` effect): asks the store for
 * the bytes, hands the core the answer (a store error included), and flushes
 * once for every answer of the same microtask run, so a pipelined burst of
 * grabs goes out in one write. Stopping waits for the reads in flight.
 *
 * @module
 */
import type { JobStore } from "../store/job_store.ts";

/** Where an answer goes: the core's `payloadRead`, then one flush. */
export interface ReadTarget {
  answer(token: number, data: Uint8Array | undefined, error: string | undefined): void;
  flush(): void;
}

export class PayloadReader {
  readonly #store: JobStore;
  readonly #target: ReadTarget;
  readonly #inFlight = new Set<Promise<void>>();
  #flushPending = false;

  constructor(store: JobStore, target: ReadTarget) {
    this.#store = store;
    this.#target = target;
  }

  /** Reads job `id`'s workload and answers under `token`. */
  read(id: number, token: number): void {
    let read: Promise<Uint8Array | undefined>;
    try {
      read = this.#store.payload(id);
    } catch (e) {
      read = Promise.reject(e); // a store that throws instead of rejecting is answered the same way
    }
    const answered: Promise<void> = read.then(
      (data) => this.#answer(token, data, undefined, answered),
      (e: unknown) => this.#answer(token, undefined, e instanceof Error ? e.message : String(e), answered),
    );
    this.#inFlight.add(answered);
  }

  /** Resolves once every read asked for so far was answered. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#inFlight);
  }

  #answer(token: number, data: Uint8Array | undefined, error: string | undefined, answered: Promise<void>): void {
    this.#inFlight.delete(answered);
    this.#target.answer(token, data, error);
    if (this.#flushPending) return;
    this.#flushPending = true;
    queueMicrotask(() => {
      this.#flushPending = false;
      this.#target.flush();
    });
  }
}
