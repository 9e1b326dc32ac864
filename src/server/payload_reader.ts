/**
 * The edge's half of a workload read (a `read` effect): asks the store for
 * the bytes, hands the core the answer (a store error included), and flushes
 * once for every answer of the same microtask run, so a pipelined burst of
 * grabs goes out in one write. Stopping waits for the reads in flight.
 *
 * @module
 */
import type { JobStore } from "../store/job_store.ts";
import { type StoreHealth, unreachable } from "./store_health.ts";

/** Where an answer goes: the core's `payloadRead` (`outage`: the store could not be reached), then one flush. */
export interface ReadTarget {
  answer(token: number, data: Uint8Array | undefined, error: string | undefined, outage: boolean): void;
  flush(): void;
}

export class PayloadReader {
  readonly #store: JobStore;
  readonly #target: ReadTarget;
  readonly #inFlight = new Set<Promise<void>>();
  #flushPending = false;
  readonly #health: StoreHealth | undefined;

  constructor(store: JobStore, target: ReadTarget, health?: StoreHealth) {
    this.#store = store;
    this.#target = target;
    this.#health = health;
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
      (data) => {
        this.#health?.answered();
        this.#answer(token, data, undefined, false, answered);
      },
      (e: unknown) => {
        const error = e instanceof Error ? e : new Error(String(e));
        const outage = unreachable(error);
        if (outage) this.#health?.failed("read", error);
        this.#answer(token, undefined, error.message, outage, answered);
      },
    );
    this.#inFlight.add(answered);
  }

  /** Resolves once every read asked for so far was answered. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#inFlight);
  }

  #answer(token: number, data: Uint8Array | undefined, error: string | undefined, outage: boolean, answered: Promise<void>): void {
    this.#inFlight.delete(answered);
    this.#target.answer(token, data, error, outage);
    if (this.#flushPending) return;
    this.#flushPending = true;
    queueMicrotask(() => {
      this.#flushPending = false;
      this.#target.flush();
    });
  }
}
