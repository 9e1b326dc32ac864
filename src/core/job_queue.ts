/**
 * A function's runnable jobs: one FIFO per priority, linked through the jobs
 * themselves so a job leaves the middle of a queue (cancelled, abandoned) in
 * O(1).
 *
 * @module
 */
/** What a queue needs of a job: its priority and the links it is threaded on. */
export interface Queued<T> {
  readonly priority: number;
  prev: T | undefined;
  next: T | undefined;
}

class Fifo<Job extends Queued<Job>> {
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
const EMPTY: readonly Fifo<never>[] = Object.freeze([new Fifo<never>(), new Fifo<never>(), new Fifo<never>()]);

/** Three FIFOs (high, normal, low) of runnable jobs, made on the first push; `Job` is the core's (job.ts). */
export class JobQueue<Job extends Queued<Job>> {
  #lists: readonly Fifo<Job>[] = EMPTY;

  /** Queued jobs per priority. */
  counts(): [number, number, number] {
    return [this.#lists[0]!.length, this.#lists[1]!.length, this.#lists[2]!.length];
  }

  get size(): number {
    return this.#lists[0]!.length + this.#lists[1]!.length + this.#lists[2]!.length;
  }

  /** Appends at the tail of the job's priority (new and requeued jobs alike). */
  push(job: Job): void {
    if (this.#lists === EMPTY) this.#lists = [new Fifo<Job>(), new Fifo<Job>(), new Fifo<Job>()];
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
