/**
 * The state behind the `JobServer` facade: connections, counters, the job
 * table, the scheduler and output, and the logic of the facade's inputs.
 * Handlers see it as `CoreContext`; the edge never sees it (it is not
 * exported from the core's mod.ts). No I/O, no clock, no randomness.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import type { Frame } from "../protocol/decoder.ts";
import { encodePacket, encodeText } from "../protocol/encoder.ts";
import { BulkWork } from "./bulk_work.ts";
import { dispatch } from "./dispatch.ts";
import { runTimer } from "./due_timers.ts";
import type { CoreContext } from "./core_context.ts";
import type { CoreOptions } from "./core_options.ts";
import type { EndedJobs } from "./ended_jobs.ts";
import type { FunctionRecord } from "./function_record.ts";
import type { FunctionTable } from "./function_table.ts";
import type { IdTable } from "./id_table.ts";
import { type Job, type StoredJob, toStored } from "./job.ts";
import type { PendingAck } from "./record_shapes.ts";
import { refuseRevival, requeue } from "./job_endings.ts";
import { JobTable } from "./job_table.ts";
import type { WorkloadPool } from "./workload_pool.ts";
import { Outbox } from "./outbox.ts";
import { type PayloadRead, PayloadReads } from "./payload_reads.ts";
import { Peer } from "./peer.ts";
import type { RoleSet } from "./roles.ts";
import { Replacements } from "./replacements.ts";
import { restoreJobs } from "./restore_jobs.ts";
import { adoptJobs } from "./adopt_jobs.ts";
import { Scheduler } from "./scheduler.ts";
import { settleRead } from "./settle_read.ts";
import type { Timer } from "./timer.ts";
import type { UniqueIndex } from "./unique_index.ts";
import { removeWorker } from "./worker_scheduling.ts";

/**
 * The state machine behind `JobServer`: what the handlers see as {@link CoreContext}
 * (connections, counters, the job table, the scheduler, output), and the logic of the facade's
 * inputs. Not exported: the edge reaches it only through the facade.
 */
export class CoreState extends Outbox implements CoreContext {
  readonly options: CoreOptions;
  /** Admin work done in slices (bulk_work.ts); the edge calls {@link continueBulk} while it has some. */
  readonly bulk: BulkWork;
  readonly peers = new Map<number, Peer>();
  /** Event and error counters by cause, for the `counters` admin command and metrics. */
  readonly counters = new Map<string, number>();
  readonly #table: JobTable;
  readonly #scheduler: Scheduler;
  readonly #replacements = new Replacements();
  readonly #reads = new PayloadReads();

  constructor(options: CoreOptions) {
    super();
    this.options = { ...options };
    this.#table = new JobTable(this.options);
    this.#scheduler = new Scheduler(this.options, this);
    this.bulk = new BulkWork(this.options.adminSlice);
  }

  // ---- the facade's inputs and questions (documented on JobServer) --------------

  continueBulk(now: number): boolean {
    return this.bulk.step(this, now);
  }

  busy(conn: number): boolean {
    const peer = this.peers.get(conn);
    return peer !== undefined && this.bulk.busy(peer);
  }

  open(conn: number, address: string, port: number, roles: RoleSet): void {
    const peer = new Peer(conn, address, port, this.options.exceptions);
    peer.roles = roles;
    this.peers.set(conn, peer);
  }

  setRoles(conn: number, roles: RoleSet): void {
    const peer = this.peers.get(conn);
    if (peer) peer.roles = roles;
  }

  close(conn: number, now: number): void {
    const peer = this.peers.get(conn);
    if (!peer) return;
    peer.closed = true;
    this.peers.delete(conn);
    this.forgetOutput(peer);
    // Unregister first: the requeue below wakes workers, and a closing one
    // must not use up that wake-up.
    const abilities = peer.abilities;
    for (const ability of abilities) removeWorker(ability.fn, peer);
    peer.abilities = [];
    for (const job of [...peer.holding]) requeue(this, job, now, "worker disconnected");
    for (const job of peer.listening) this.#detachListener(job, peer);
    peer.listening.clear();
    peer.uniques = 0;
    for (const ability of abilities) this.#table.noteIdle(ability.fn);
  }

  receive(conn: number, frame: Frame, now: number): void {
    const peer = this.peers.get(conn);
    if (!peer) return;
    dispatch(this, peer, frame, now);
  }

  tick(now: number): void {
    for (const t of this.#scheduler.popDue(now)) runTimer(this, t, now);
  }

  nextDeadline(): number | undefined {
    return this.#scheduler.nextDeadline();
  }

  persisted(ids: readonly number[], error: string | undefined, now: number, coalesced?: ReadonlyMap<number, string>): void {
    const touched = new Set<Peer>();
    const handedOver = new Map<number, string>();
    for (const id of ids) {
      const job = this.jobs.get(id);
      if (!job || job.state !== "persisting") continue;
      const other = error === undefined ? coalesced?.get(id) : undefined;
      const handOver = other !== undefined && this.#handsOver(job);
      // Most get their JOB_CREATED, encoded when released (one buffer per connection and commit).
      const reply = error !== undefined
        ? encodePacket(Cmd.ERROR, ["QUEUE_ERROR", error])
        : handOver
        ? encodePacket(Cmd.JOB_CREATED, [other])
        : undefined;
      this.#scheduler.answer(job, reply, touched);
      if (error !== undefined || handOver) {
        this.count(handOver ? "coalesced_cluster" : "store_error");
        if (handOver) handedOver.set(id, other);
        this.retire(job);
        continue;
      }
      job.persisted = other === undefined;
      if (job.persisted) this.#table.holdOrLeavePayload(job);
      this.schedule(job, now);
    }
    if (coalesced && error === undefined) this.#refuseRevivals(coalesced, ids, now);
    for (const peer of this.#replacements.settle(this, ids, error, handedOver)) touched.add(peer);
    for (const peer of touched) this.release(peer);
  }

  /**
   * The store did not add a new job: a live job of another node holds its
   * function and unique. Its submitters get that job's handle and it is
   * dropped, with no store row to forget (true). Unless foreground clients
   * coalesced onto it meanwhile: another node's job would never send them
   * its results, so it stays here as a foreground job, unstored (false; it
   * is answered with its own handle and scheduled).
   */
  #handsOver(job: Job): boolean {
    if (job.listenerCount === 0) return true;
    this.count("coalesced_kept_foreground");
    job.background = false;
    job.runAt = 0;
    // Its own bytes: a background submission may view a whole read chunk until its commit.
    const data = job.data; // read once: a pooled workload's getter copies
    if (data !== undefined && data.byteLength !== data.buffer.byteLength) job.data = data.slice();
    return false;
  }

  /** Revived jobs (`job retry`) the store left ended: a live job of another node holds their unique (job_endings.ts). */
  #refuseRevivals(coalesced: ReadonlyMap<number, string>, added: readonly number[], now: number): void {
    const isNew = new Set(added);
    for (const [id, handle] of coalesced) {
      const job = isNew.has(id) ? undefined : this.jobs.get(id);
      if (job !== undefined) refuseRevival(this, job, handle, now);
    }
  }

  answer(conn: number, reply: PendingAck, text: string): void {
    const peer = this.peers.get(conn);
    if (!peer) return;
    peer.resolve(reply, encodeText(text));
    this.release(peer);
  }

  /** Replaces a running job with new background jobs in one store transaction (WORK_REPLACE). */
  replace(old: Job, created: Job[], handles: string[], peer: Peer): void {
    this.#replacements.start(this, old, created, handles, peer);
  }

  restore(stored: Iterable<StoredJob>, now: number): number {
    return restoreJobs(this.#table, this, stored, now);
  }

  useIds(base: number, size: number, highest: number): void {
    this.#table.useIds(base, size, highest);
  }

  adopt(stored: Iterable<StoredJob>, from: string, now: number): number {
    const n = adoptJobs(this.#table, this, stored, from, now);
    this.count("adopted", n);
    return n;
  }

  /** Asks the edge to read a workload back from the store (a `read` effect); {@link payloadRead} takes the answer. */
  readPayload(id: number, read: PayloadRead): void {
    this.effect({ kind: "read", id, token: this.#reads.add(read) });
  }

  /**
   * The store answered a `read` effect: the workload, or `error` (neither:
   * the store no longer has it; `outage`: the error is that the store could
   * not be reached). A token answered twice, or unknown, is ignored. See settle_read.ts.
   */
  payloadRead(token: number, data: Uint8Array | undefined, error: string | undefined, now: number, outage = false): void {
    const read = this.#reads.take(token);
    if (read !== undefined) settleRead(this, read, data, error, now, outage);
  }

  /** Workload reads the edge has not answered yet (a graceful drain waits for them). */
  get reading(): number {
    return this.#reads.size;
  }

  /** True when no job is persisting, queued, scheduled or running. */
  get idle(): boolean {
    return this.jobs.size === 0;
  }

  count(cause: string, by = 1): void {
    this.counters.set(cause, (this.counters.get(cause) ?? 0) + by);
  }

  // ---- the job table (job_table.ts) ------------------------------------------

  get jobs(): IdTable<Job> {
    return this.#table.jobs;
  }

  get uniques(): UniqueIndex {
    return this.#table.uniques;
  }

  get functions(): FunctionTable {
    return this.#table.functions;
  }

  get ended(): EndedJobs {
    return this.#table.ended;
  }

  get submitted(): number {
    return this.#table.submitted;
  }

  set submitted(n: number) {
    this.#table.submitted = n;
  }

  get payloadBytes(): number {
    return this.#table.payloadBytes;
  }

  get workloads(): WorkloadPool {
    return this.#table.home.workloads;
  }

  get lastId(): number {
    return this.#table.lastId;
  }

  fn(name: string, create: boolean, force = false): FunctionRecord | undefined {
    const before = this.#table.reclaimed;
    const rec = this.#table.fn(name, create, force);
    if (this.#table.reclaimed !== before) this.count("functions_reclaimed", this.#table.reclaimed - before);
    return rec;
  }

  noteIdle(fn: FunctionRecord): void {
    this.#table.noteIdle(fn);
  }

  nextId(): number {
    return this.#table.nextId();
  }

  madeAfter(id: number, last: number): boolean {
    return this.#table.madeAfter(id, last);
  }

  job(handle: string): Job | undefined {
    return this.#table.job(handle);
  }

  jobAt(bytes: Uint8Array, start: number, end: number): Job | undefined {
    return this.#table.jobAt(bytes, start, end);
  }

  newJob(...args: Parameters<JobTable["newJob"]>): Job {
    return this.#table.newJob(...args);
  }

  // ---- the scheduler (scheduler.ts) ------------------------------------------

  at(when: number, timer: Timer): void {
    this.#scheduler.at(when, timer);
  }

  schedule(job: Job, now: number): void {
    this.#scheduler.schedule(job, now);
  }

  enqueue(job: Job, now: number): void {
    this.#scheduler.enqueue(job, now);
  }

  assign(job: Job, peer: Peer, now: number): void {
    this.#scheduler.assign(job, peer, now);
  }

  awaitAck(job: Job, peer: Peer): void {
    this.#scheduler.awaitAck(job, peer);
  }

  addListener(job: Job, peer: Peer): void {
    this.#table.addListener(job, peer);
  }

  retire(job: Job): void {
    this.#table.retire(job);
  }

  // ---- job lifecycle across both ------------------------------------------------

  /** Asks the store to keep a new background job; replies wait for its answer. */
  persist(job: Job, submitter: Peer): void {
    this.awaitAck(job, submitter);
    this.effect({ kind: "persist", job: toStored(job) });
  }

  /** Removes a finished job everywhere and forgets it in the store. */
  finish(job: Job): void {
    this.retire(job);
    if (job.persisted) this.effect({ kind: "forget", id: job.id });
  }

  /**
   * Puts a kept ended job (a failed one, typically) back in its queue, as
   * it was submitted, with a fresh retry count. Undefined when it cannot
   * be: its unique is taken by a live job again.
   */
  revive(job: Job, now: number): string | undefined {
    if (job.ended === undefined || this.ended.get(job.id) !== job) return "not an ended job";
    this.#table.rebind(job);
    if (job.uniqueKey !== undefined && this.uniques.get(job.fn, job.uniqueKey)) return "a live job holds its unique";
    this.ended.remove(job);
    job.ended = undefined;
    job.retries = 0;
    job.runAt = 0;
    this.#table.enter(job);
    this.effect({ kind: "update", job: toStored(job) });
    this.schedule(job, now);
    return undefined;
  }

  /** Forgets a kept ended job now (operator purge or cancel). */
  forgetEnded(job: Job): boolean {
    if (!this.ended.remove(job)) return false;
    this.effect({ kind: "forget", id: job.id });
    return true;
  }

  /** A client stops waiting (every submission of it); a foreground job nobody waits for is dropped if not started. */
  #detachListener(job: Job, peer: Peer): void {
    job.removeListener(peer);
    if (job.listenerCount === 0 && !job.background && job.state === "queued") {
      this.count("abandoned");
      this.#table.removeJob(job);
    }
  }
}
