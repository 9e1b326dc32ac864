/**
 * A function's runnable jobs: one FIFO per priority, linked through the jobs
 * themselves so a job leaves the middle of a queue (cancelled, abandoned) in
 * O(1).
 *
 * @module
 */
import type { Job } from "./job.ts";

class Fifo {
  head: Job | undefined;
  tail: Job | undefined;
  length = 0;

  push(job: Job): void {
    job.next = undefined;
    job.prev = this.tail;
    if (this.tail) this.tail.next = job;
    else this.head = job;
    this.tail = job;
    this.length++;
  }

  remove(job: Job): void {
    if (job.prev) job.prev.next = job.next;
    else this.head = job.next;
    if (job.next) job.next.prev = job.prev;
    else this.tail = job.prev;
    job.prev = job.next = undefined;
    this.length--;
  }
}

/**
 * The lists of every queue that never held a job, shared: a function made by
 * `create function` or CAN_DO costs no FIFOs (the table holds up to 100,000).
 */
const EMPTY: readonly Fifo[] = Object.freeze([new Fifo(), new Fifo(), new Fifo()]);

/** Three FIFOs (high, normal, low) of runnable jobs, made on the first push. */
export class JobQueue {
  #lists: readonly Fifo[] = EMPTY;

  /** Queued jobs per priority. */
  counts(): [number, number, number] {
    return [this.#lists[0]!.length, this.#lists[1]!.length, this.#lists[2]!.length];
  }

  get size(): number {
    return this.#lists[0]!.length + this.#lists[1]!.length + this.#lists[2]!.length;
  }

  /** Appends at the tail of the job's priority (new and requeued jobs alike). */
  push(job: Job): void {
    if (this.#lists === EMPTY) this.#lists = [new Fifo(), new Fifo(), new Fifo()];
    this.#lists[job.priority]!.push(job);
  }

  remove(job: Job): void {
    this.#lists[job.priority]!.remove(job);
  }

  /** The oldest job of one priority, without removing it. */
  first(priority: number): Job | undefined {
    return this.#lists[priority]!.head;
  }

  /** Every queued job, highest priority first, FIFO within a priority. */
  *[Symbol.iterator](): IterableIterator<Job> {
    for (const list of this.#lists) {
      for (let j = list.head; j; j = j.next) yield j;
    }
  }

  /** The jobs of one priority, oldest first (a walk: for rare, operator-sized uses). */
  *list(priority: number): Generator<Job> {
    for (let j = this.#lists[priority]!.head; j; j = j.next) yield j;
  }
}
