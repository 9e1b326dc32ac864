/**
 * Background jobs that ended but are kept for a while: the dead set (failed
 * for good, with payload and failure log, so an operator can look at them
 * and retry them) and completed jobs whose exit status is kept
 * (TheSchwartz's `keep_exit_status_for`). Bounded: past `max` the oldest
 * record is forgotten first.
 *
 * @module
 */
import { IdTable } from "./id_table.ts";
import type { Job } from "./job.ts";

interface Entry {
  readonly job: Job;
  /** The function of a dead (failed) job, counted in `deadByFunction` while kept. */
  readonly dead: string | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/**
 * Kept in end order by a linked list, found by id in an {@link IdTable}: a
 * Map of a million records rehashed for 130–220 ms of one turn when `job
 * retry all` or a purge emptied it (JavaScript Maps shrink as they empty).
 */
export class EndedJobs {
  readonly #byId = new IdTable<Entry>();
  /** Dead (failed) jobs kept, per function name: the gauge `gearbox_jobs_dead` (bounded by `max`). */
  readonly deadByFunction = new Map<string, number>();
  #head: Entry | undefined;
  #tail: Entry | undefined;
  max: number;

  constructor(max: number) {
    this.max = max;
  }

  get(id: number): Job | undefined {
    return this.#byId.get(id)?.job;
  }

  /** Keeps a job; returns the records pushed out by the cap (to forget in the store). */
  add(job: Job): Job[] {
    const old = this.#byId.get(job.id);
    if (old !== undefined) this.#unlink(old);
    const dead = job.ended?.outcome === "failed" ? job.function : undefined;
    if (dead !== undefined) this.deadByFunction.set(dead, (this.deadByFunction.get(dead) ?? 0) + 1);
    const e: Entry = { job, dead, prev: this.#tail, next: undefined };
    if (this.#tail) this.#tail.next = e;
    else this.#head = e;
    this.#tail = e;
    this.#byId.set(job.id, e);
    const evicted: Job[] = [];
    while (this.#byId.size > this.max && this.#head) {
      evicted.push(this.#head.job);
      this.#unlink(this.#head);
    }
    return evicted;
  }

  remove(job: Job): boolean {
    const e = this.#byId.get(job.id);
    if (e === undefined || e.job !== job) return false;
    this.#unlink(e);
    return true;
  }

  /**
   * Records in the order they ended. A record removed while this walks is
   * skipped; a removed entry keeps its `next`, so the walk goes on from it.
   */
  *values(): IterableIterator<Job> {
    for (let e = this.#head; e; e = e.next) if (this.#byId.get(e.job.id) === e) yield e.job;
  }

  get size(): number {
    return this.#byId.size;
  }

  #unlink(e: Entry): void {
    this.#byId.delete(e.job.id);
    if (e.dead !== undefined) {
      const n = this.deadByFunction.get(e.dead)! - 1;
      if (n > 0) this.deadByFunction.set(e.dead, n);
      else this.deadByFunction.delete(e.dead);
    }
    if (e.prev) e.prev.next = e.next;
    else this.#head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.#tail = e.prev;
  }
}
