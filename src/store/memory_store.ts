/**
 * A store that keeps jobs in process memory: nothing survives the process,
 * but an embedding application that restarts the server on the same store
 * object gets its jobs back.
 *
 * @module
 */
import { IdTable } from "../core/id_table.ts";
import type { JobStore, ScheduleRow, StoreBatch, StoredJob } from "./job_store.ts";

export class MemoryStore implements JobStore {
  readonly url = "memory:";
  /** The workloads it keeps are the server's own bytes: leaving them here would free nothing. */
  readonly payloadsOutOfMemory = false;
  readonly #jobs = new IdTable<StoredJob>();
  readonly #schedules = new Map<string, ScheduleRow>();

  open(): Promise<Iterable<StoredJob>> {
    return Promise.resolve([...this.#jobs.values()]);
  }

  commit(batch: StoreBatch): Promise<void> {
    for (const job of batch.add) this.#jobs.set(job.id, job);
    for (const job of batch.update ?? []) {
      const old = this.#jobs.get(job.id);
      // An update changes run time, failures and ending, never the workload (as in SQLite).
      if (old !== undefined) this.#jobs.set(job.id, job.data === undefined ? { ...job, data: old.data } : job);
    }
    for (const id of batch.remove) this.#jobs.delete(id);
    for (const row of batch.schedules ?? []) this.#schedules.set(row.name, { ...row });
    for (const name of batch.dropSchedules ?? []) this.#schedules.delete(name);
    return Promise.resolve();
  }

  schedules(): Promise<ScheduleRow[]> {
    return Promise.resolve([...this.#schedules.values()].map((r) => ({ ...r })));
  }

  payload(id: number): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.#jobs.get(id)?.data);
  }

  /** Jobs currently held (for tests and admin). */
  get size(): number {
    return this.#jobs.size;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
