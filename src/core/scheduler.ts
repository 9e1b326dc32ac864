/**
 * The scheduler: when a job runs and who is told. It moves jobs between
 * `scheduled`, `queued` and `running`, keeps the deadlines `tick` runs
 * (epoch jobs, time limits, delayed wake-ups, ended-job expiry), wakes
 * sleeping workers, and remembers which submitters wait for a job's
 * JOB_CREATED while the store commits it.
 *
 * @module
 */
import type { CoreOptions } from "./core_options.ts";
import { DeadlineHeap } from "./deadline_heap.ts";
import { IdTable } from "./id_table.ts";
import type { Job } from "./job.ts";
import type { Outbox } from "./outbox.ts";
import type { Peer } from "./peer.ts";
import type { Timer } from "./timer.ts";
import { wake } from "./worker_scheduling.ts";
import { metricsOf } from "./function_metrics.ts";

/** Queues, deadlines and wake-ups. */
export class Scheduler {
  readonly options: CoreOptions;
  readonly #out: Pick<Outbox, "sendNoop">;
  readonly #timers = new DeadlineHeap<Timer>();
  /**
   * Submitters waiting for JOB_CREATED of a job still being committed, by job id: one (the
   * usual case, no array) or several. An id table, not a Map keyed by job: a commit adds and
   * removes a thousand entries, and a Map's growth and deletes were 12% of the durable submit
   * path's JavaScript in a profile.
   */
  readonly #acks = new IdTable<Peer | Peer[]>();

  constructor(options: CoreOptions, out: Pick<Outbox, "sendNoop">) {
    this.options = options;
    this.#out = out;
  }

  /** Wakes a worker that slept (PRE_SLEEP) with a NOOP. */
  sendNoop(peer: Peer): void {
    this.#out.sendNoop(peer);
  }

  /** Arms a deadline; the server's `tick` runs it when due. */
  at(when: number, timer: Timer): void {
    this.#timers.push(when, timer);
  }

  /** When `tick` must next run, or `undefined` when nothing is scheduled. */
  nextDeadline(): number | undefined {
    return this.#timers.peek();
  }

  /** The deadlines that are due, in order; each is removed. */
  popDue(now: number): Timer[] {
    return this.#timers.popDue(now);
  }

  /** A submitter of a job still being committed waits for the same answer (its output holds the job as the reply's slot). */
  awaitAck(job: Job, peer: Peer): void {
    if (job.uniqueKey !== undefined) peer.uniques++;
    const waiting = this.#acks.get(job.id);
    if (waiting === undefined) {
      job.answered = false;
      this.#acks.set(job.id, peer);
    } else if (Array.isArray(waiting)) waiting.push(peer);
    else this.#acks.set(job.id, [waiting, peer]);
    peer.awaitJob(job);
  }

  /**
   * The store answered for a job: every submitter waiting for it gets its
   * JOB_CREATED (or `reply` instead) and is added to `touched`, to be
   * released once the whole answer is in.
   */
  answer(job: Job, reply: Uint8Array | undefined, touched: Set<Peer>): void {
    job.answered = true;
    const waiting = this.#acks.get(job.id);
    if (waiting === undefined) return;
    this.#acks.delete(job.id);
    if (Array.isArray(waiting)) { for (const peer of waiting) this.#answer(job, peer, reply, touched); }
    else this.#answer(job, waiting, reply, touched);
  }

  #answer(job: Job, peer: Peer, reply: Uint8Array | undefined, touched: Set<Peer>): void {
    if (job.uniqueKey !== undefined) peer.uniques--;
    peer.resolveJob(job, reply);
    touched.add(peer);
  }

  /** Makes a committed (or foreground) job runnable now or at its `runAt`. */
  schedule(job: Job, now: number): void {
    if (job.runAt > now) {
      job.state = "scheduled";
      job.fn.scheduled[job.priority]++;
      this.#timers.push(job.runAt, { kind: "due", job });
    } else {
      this.enqueue(job, now);
    }
  }

  /** Appends a job to its queue tail and wakes sleeping workers. */
  enqueue(job: Job, now: number): void {
    job.state = "queued";
    job.fn.queue.push(job);
    wake(this, job.fn, now);
  }

  /** Hands a queued job to a worker and arms its time limit. */
  assign(job: Job, peer: Peer, now: number): void {
    job.fn.queue.remove(job);
    job.state = "running";
    job.worker = peer;
    job.assignment++;
    job.startedAt = now;
    metricsOf(job.fn).observeWait(Math.max(0, now - Math.max(job.createdAt, job.runAt)) / 1000);
    job.numerator = "0";
    job.denominator = "0";
    job.fn.running++;
    peer.holding.add(job);
    const own = peer.ability(job.fn)?.timeoutMs ?? 0;
    const lease = own > 0 ? own : this.options.functions[job.fn.name]?.grabForMs ?? this.options.grabForMs;
    job.grabbedUntil = lease > 0 ? now + lease : 0;
    if (lease > 0) this.#timers.push(now + lease, { kind: "timeout", job, assignment: job.assignment, lease: own === 0 });
  }
}
