/**
 * A store that keeps jobs in process memory: nothing survives the process,
 * but an embedding application that restarts the server on the same store
 * object gets its jobs back.
 *
 * @module
 */
import { IdTable } from "../core/id_table.ts";
import type { JobStore, StoreBatch, StoredJob } from "./job_store.ts";

export class MemoryStore implements JobStore {
  readonly url = "memory:";
  readonly #jobs = new IdTable<StoredJob>();

  open(): Promise<Iterable<StoredJob>> {
    return Promise.resolve([...this.#jobs.values()]);
  }

  commit(batch: StoreBatch): Promise<void> {
    for (const job of batch.add) this.#jobs.set(job.id, job);
    for (const job of batch.update ?? []) if (this.#jobs.has(job.id)) this.#jobs.set(job.id, job);
    for (const id of batch.remove) this.#jobs.delete(id);
    return Promise.resolve();
  }

  /** Jobs currently held (for tests and admin). */
  get size(): number {
    return this.#jobs.size;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
