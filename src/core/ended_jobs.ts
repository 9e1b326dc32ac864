/**
 * Background jobs that ended but are kept for a while: the dead set (failed
 * for good, with payload and failure log, so an operator can look at them
 * and retry them) and completed jobs whose exit status is kept
 * (TheSchwartz's `keep_exit_status_for`). Bounded: past `max` the oldest
 * record is forgotten first.
 *
 * @module
 */
import type { Job } from "./job.ts";

export class EndedJobs {
  /** In the order the jobs ended (a Map keeps insertion order). */
  readonly #byId = new Map<number, Job>();
  max: number;

  constructor(max: number) {
    this.max = max;
  }

  get(id: number): Job | undefined {
    return this.#byId.get(id);
  }

  /** Keeps a job; returns the records pushed out by the cap (to forget in the store). */
  add(job: Job): Job[] {
    this.#byId.delete(job.id);
    this.#byId.set(job.id, job);
    const evicted: Job[] = [];
    for (const old of this.#byId.values()) {
      if (this.#byId.size <= this.max) break;
      this.#byId.delete(old.id);
      evicted.push(old);
    }
    return evicted;
  }

  remove(job: Job): boolean {
    if (this.#byId.get(job.id) !== job) return false;
    return this.#byId.delete(job.id);
  }

  values(): IterableIterator<Job> {
    return this.#byId.values();
  }

  get size(): number {
    return this.#byId.size;
  }
}
