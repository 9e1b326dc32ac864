/**
 * The job server state machine. Frames go in with the time; bytes per
 * connection and effects come out. No I/O, no clock, no randomness: the same
 * inputs always give the same outputs, which is what the scripted core tests
 * rely on.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import type { Frame } from "../protocol/decoder.ts";
import type { CoreContext, PacketHandler } from "./core_context.ts";
import type { Timer } from "./timer.ts";
import { encodePacket, encodeText } from "../protocol/encoder.ts";
import { handleAdminLine } from "./admin_requests.ts";
import { CLIENT_HANDLERS } from "./client_requests.ts";
import { type CoreOptions, DEFAULT_CORE_OPTIONS } from "./core_options.ts";
import { DeadlineHeap } from "./deadline_heap.ts";
import { FunctionRecord } from "./function_record.ts";
import { FunctionTable } from "./function_table.ts";
import { UniqueIndex } from "./unique_index.ts";
import { EndedJobs } from "./ended_jobs.ts";
import { BulkWork } from "./bulk_work.ts";
import { Replacements } from "./replacements.ts";
import { RELIABLE_HANDLERS } from "./reliable_requests.ts";
import { Job, NOBODY, type PendingAck, type Priority, type StoredJob, toStored, uniqueKeyOf } from "./job.ts";
import { IdTable } from "./id_table.ts";
import { Outbox } from "./outbox.ts";
import { Peer } from "./peer.ts";
import { jobFailed, requeue } from "./job_endings.ts";
import { WORKER_HANDLERS } from "./worker_requests.ts";
import { removeWorker, wake } from "./worker_scheduling.ts";

const EMPTY = new Uint8Array(0);

const HANDLERS: (PacketHandler | undefined)[] = [];
for (const [code, h] of Object.entries({ ...CLIENT_HANDLERS, ...WORKER_HANDLERS, ...RELIABLE_HANDLERS })) HANDLERS[Number(code)] = h;

/**
 * The sans-I/O Gearman job server.
 *
 * @example
 * ```ts
 * const core = new JobServer({ handlePrefix: "H:test" });
 * core.open(1, "127.0.0.1", 5000);
 * for (const frame of decoder.push(bytes)) core.receive(1, frame, Date.now());
 * const { output, effects } = core.drain();
 * ```
 */
export class JobServer extends Outbox implements CoreContext {
  readonly options: CoreOptions;
  readonly functions = new FunctionTable();
  /** Background jobs that ended and are kept: the dead set and kept exit statuses. */
  readonly ended: EndedJobs;
  /** Admin work done in slices (bulk_work.ts); the edge calls {@link continueBulk} while it has some. */
  readonly bulk: BulkWork;
  readonly #replacements = new Replacements();
  /** Live jobs by coalescing key, for coalescing and GET_STATUS_UNIQUE. */
  readonly uniques = new UniqueIndex((id) => this.jobs.get(id));
  /** Live jobs by id (the number a handle ends in); see {@link job}. */
  readonly jobs = new IdTable<Job>();
  readonly peers = new Map<number, Peer>();
  /** Event and error counters by cause, for the `counters` admin command and metrics. */
  readonly counters = new Map<string, number>();
  /** Jobs created (kept out of `counters`: it is on the hot path). */
  submitted = 0;
  #seq = 0;
  /** One limits tuple shared by every function without its own (admin `maxqueue` replaces, never edits, it). */
  #defaultMaxQueue!: readonly [number, number, number];
  readonly #timers = new DeadlineHeap<Timer>();
  /** Handle prefixes of replayed jobs, one string per earlier boot. */
  readonly #prefixes = new Map<string, string>();
  /** Submitters waiting for JOB_CREATED of a job still being committed. */
  readonly #acks = new Map<Job, { peer: Peer; ack: PendingAck }[]>();
  /** Payload bytes of committed jobs still held in memory (see `maxPayloadMemory`). */
  #payloadBytes = 0;

  constructor(options: Partial<CoreOptions> = {}) {
    super();
    this.options = { ...DEFAULT_CORE_OPTIONS, ...options };
    const q = this.options.maxQueue;
    this.#defaultMaxQueue = Object.freeze([q, q, q] as const);
    this.ended = new EndedJobs(this.options.maxEndedJobs);
    this.bulk = new BulkWork(this.options.adminSlice);
    for (const [name, f] of Object.entries(this.options.functions)) {
      if (f.maxQueue !== undefined) this.fn(name, true, true)!.maxQueue = [f.maxQueue, f.maxQueue, f.maxQueue];
    }
  }

  /** Runs one slice of bulk admin work; true while more remains (call again on a later loop turn). */
  continueBulk(now: number): boolean {
    return this.bulk.step(this, now);
  }

  /** True while a reply to this connection is being built in slices: hold its later requests until then. */
  busy(conn: number): boolean {
    const peer = this.peers.get(conn);
    return peer !== undefined && this.bulk.busy(peer);
  }

  // ---- inputs -------------------------------------------------------------

  /** A connection arrived. */
  open(conn: number, address: string, port: number): void {
    this.peers.set(conn, new Peer(conn, address, port, this.options.exceptions));
  }

  /** A connection is gone: requeue what it held, drop what only it waited for. */
  close(conn: number, now: number): void {
    const peer = this.peers.get(conn);
    if (!peer) return;
    peer.closed = true;
    this.peers.delete(conn);
    this.forgetOutput(peer);
    // Unregister first: the requeue below wakes workers, and a closing one
    // must not use up that wake-up.
    for (const ability of peer.abilities) removeWorker(ability.fn, peer);
    peer.abilities = [];
    for (const job of [...peer.holding]) requeue(this, job, now, "worker disconnected");
    for (const job of peer.listening) this.detachListener(job, peer);
    peer.listening.clear();
  }

  /** One decoded frame from a connection. */
  receive(conn: number, frame: Frame, now: number): void {
    const peer = this.peers.get(conn);
    if (!peer) return;
    switch (frame.kind) {
      case "packet": {
        const handler = HANDLERS[frame.code];
        if (handler) handler(this, peer, frame, now);
        else {
          this.count("invalid_command");
          this.error(peer, "INVALID_COMMAND", "Command not expected");
        }
        return;
      }
      case "text":
        handleAdminLine(this, peer, frame.line, now);
        return;
      case "fault": {
        const e = frame.error;
        this.count(`protocol_${e.code.toLowerCase()}`);
        if (e.text) this.send(peer, encodeText(`ERR ${e.wireCode} ${e.wireText.replaceAll(" ", "+")}\r\n`));
        else this.error(peer, e.wireCode, e.wireText);
        if (e.fatal) this.closeConnection(peer, e.message);
        return;
      }
    }
  }

  /** Runs every deadline that is due: epoch jobs, worker timeouts, delayed wake-ups. */
  tick(now: number): void {
    for (const t of this.#timers.popDue(now)) {
      switch (t.kind) {
        case "due":
          if (t.job.state === "scheduled") {
            t.job.fn.scheduled[t.job.priority]--;
            this.enqueue(t.job, now);
          }
          break;
        case "timeout":
          if (t.job.state === "running" && t.job.assignment === t.assignment) {
            this.count(t.lease ? "lease_expired" : "worker_timeout");
            requeue(this, t.job, now, t.lease ? "lease expired" : "worker timeout");
          }
          break;
        case "rewake":
          t.fn.rewakeArmed = false;
          if (t.fn.queue.size > 0) wake(this, t.fn, now);
          break;
        case "expire":
          if (t.job.ended !== undefined && t.job.ended.deleteAfter <= now && this.ended.remove(t.job)) {
            this.count("ended_expired");
            this.effect({ kind: "forget", id: t.job.id });
          }
          break;
      }
    }
  }

  /** Arms a deadline; `tick` runs it when due. */
  at(when: number, timer: Timer): void {
    this.#timers.push(when, timer);
  }

  /** When `tick` must next run, or `undefined` when nothing is scheduled. */
  nextDeadline(): number | undefined {
    return this.#timers.peek();
  }

  /** The store answered for a batch of `persist` effects (by job id). */
  persisted(ids: readonly number[], error: string | undefined, now: number): void {
    const touched = new Set<Peer>();
    for (const id of ids) {
      const job = this.jobs.get(id);
      if (!job || job.state !== "persisting") continue;
      const acks = this.#acks.get(job) ?? NOBODY;
      this.#acks.delete(job);
      if (error !== undefined) {
        this.count("store_error");
        const bytes = encodePacket(Cmd.ERROR, ["QUEUE_ERROR", error]);
        for (const { peer, ack } of acks) {
          peer.resolve(ack, bytes);
          touched.add(peer);
        }
        for (const l of job.listeners) l.listening.delete(job);
        job.listeners = NOBODY;
        this.removeJob(job);
        continue;
      }
      job.persisted = true;
      this.#holdOrLeavePayload(job);
      const created = encodePacket(Cmd.JOB_CREATED, [job.handle]);
      for (const { peer, ack } of acks) {
        peer.resolve(ack, created);
        touched.add(peer);
      }
      this.schedule(job, now);
    }
    for (const peer of this.#replacements.settle(this, ids, error)) touched.add(peer);
    for (const peer of touched) this.release(peer);
  }

  /** Fills a reply slot the edge was asked to answer (a `backup` effect); a closed connection is skipped. */
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

  /**
   * Loads jobs from the store at start-up, before any connection; returns how
   * many. Takes them one at a time, so a million rows are never all in memory
   * twice.
   */
  restore(stored: Iterable<StoredJob>, now: number): number {
    let count = 0;
    for (const s of stored) {
      count++;
      if (s.id > this.#seq) this.#seq = s.id;
      if (this.jobs.has(s.id) || this.ended.get(s.id)) continue;
      if (s.data === undefined && (this.options.payloads === undefined || s.unique === "-")) {
        throw new Error(`the store replayed job ${s.id} without its workload`);
      }
      const fn = this.fn(s.function, true, true)!;
      const job = this.newJob(
        fn,
        s.id,
        this.#replayedPrefix(s.handle),
        uniqueKeyOf(s.unique, s.data ?? EMPTY),
        s.data,
        s.priority,
        true,
        s.createdAt,
      );
      if (s.reducer !== "") job.reducer = s.reducer;
      job.runAt = s.runAt;
      job.retries = s.retries;
      if (s.failures.length > 0) job.failures = [...s.failures];
      job.persisted = true;
      this.#holdOrLeavePayload(job);
      if (s.ended) {
        this.removeJob(job);
        job.ended = { ...s.ended };
        for (const old of this.ended.add(job)) this.effect({ kind: "forget", id: old.id });
        this.at(job.ended.deleteAfter, { kind: "expire", job });
        continue;
      }
      this.schedule(job, now);
    }
    return count;
  }

  /** One shared prefix string per earlier boot, taken from a replayed handle. */
  #replayedPrefix(handle: string): string {
    const colon = handle.lastIndexOf(":");
    const prefix = colon === -1 ? this.options.handlePrefix : handle.slice(0, colon);
    if (prefix === this.options.handlePrefix) return this.options.handlePrefix;
    let shared = this.#prefixes.get(prefix);
    if (shared === undefined) this.#prefixes.set(prefix, shared = prefix);
    return shared;
  }

  /**
   * A committed job keeps its workload in memory while committed payloads
   * take no more than `maxPayloadMemory` bytes; past that it leaves it to the
   * store, which gives it back when a worker takes the job.
   */
  #holdOrLeavePayload(job: Job): void {
    const data = job.data;
    if (data === undefined || this.options.payloads === undefined) return;
    if (this.#payloadBytes + data.byteLength <= this.options.maxPayloadMemory) {
      this.#payloadBytes += data.byteLength;
      // Its own bytes: a submission may view a whole read chunk, which it would pin.
      if (data.byteLength !== data.buffer.byteLength) job.data = data.slice();
    } else {
      job.data = undefined;
    }
  }

  /** Forgets a committed job's workload in memory (it ended, or it is only kept as ended). */
  #leavePayload(job: Job): void {
    if (job.data === undefined || !job.persisted || this.options.payloads === undefined) return;
    this.#payloadBytes -= job.data.byteLength;
    job.data = undefined;
  }

  /** Payload bytes of committed jobs held in memory. */
  get payloadBytes(): number {
    return this.#payloadBytes;
  }

  /**
   * The workload of a job a worker was just given. When the store cannot give
   * it back, the job fails like a failed run (retried if its policy allows),
   * and the answer is undefined.
   */
  payloadOf(job: Job, now: number): Uint8Array | undefined {
    if (job.data !== undefined) return job.data;
    let error = "the store no longer has it";
    try {
      const data = this.options.payloads?.payload(job.id);
      if (data !== undefined) return data;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    this.count("payload_unavailable");
    this.effect({ kind: "log", level: "error", message: "job workload unreadable", fields: { handle: job.handle, error } });
    jobFailed(this, job, now, { message: `workload unreadable: ${error}` });
    return undefined;
  }

  /** True when no job is persisting, queued, scheduled or running. */
  get idle(): boolean {
    return this.jobs.size === 0;
  }

  count(cause: string, by = 1): void {
    this.counters.set(cause, (this.counters.get(cause) ?? 0) + by);
  }

  // ---- functions and jobs ---------------------------------------------------

  /** Finds a function record; creates it when asked and the table has room. */
  fn(name: string, create: boolean, force = false): FunctionRecord | undefined {
    let rec = this.functions.get(name);
    if (!rec && create && (force || this.functions.size < this.options.maxFunctions)) {
      rec = new FunctionRecord(name, this.#defaultMaxQueue);
      this.functions.set(name, rec);
    }
    return rec;
  }

  /** The id most recently allocated: jobs made later have larger ids. */
  get lastId(): number {
    return this.#seq;
  }

  /** Allocates the next job id; its handle is `<prefix>:<id>`. */
  nextId(): number {
    return ++this.#seq;
  }

  /** The live job a handle names, whatever boot's prefix it carries. */
  job(handle: string): Job | undefined {
    const colon = handle.lastIndexOf(":");
    if (colon === -1) return undefined;
    const tail = handle.slice(colon + 1);
    if (tail.length === 0 || tail.length > 15) return undefined;
    const id = Number(tail);
    if (!Number.isInteger(id)) return undefined;
    const job = this.jobs.get(id);
    return job !== undefined && job.prefix.length === colon && handle.startsWith(job.prefix) && String(id) === tail ? job : undefined;
  }

  /**
   * Makes a job (state `persisting`) and enters it in the live tables;
   * `prefix` defaults to this boot's, `uniqueKey` comes from {@link uniqueKeyOf}.
   */
  newJob(
    fn: FunctionRecord,
    id: number,
    prefix: string | undefined,
    uniqueKey: string | undefined,
    data: Uint8Array | undefined,
    priority: Priority,
    background: boolean,
    now: number,
  ): Job {
    const job = new Job(fn, id, prefix ?? this.options.handlePrefix, uniqueKey, data, priority, background, now);
    this.jobs.set(id, job);
    if (job.uniqueKey !== undefined) this.uniques.add(job);
    fn.total++;
    return job;
  }

  /** Asks the store to keep a new background job; replies wait for its answer. */
  persist(job: Job, submitter: Peer): void {
    this.awaitAck(job, submitter);
    this.effect({ kind: "persist", job: toStored(job) });
  }

  /** A submitter of a job still being committed waits for the same answer. */
  awaitAck(job: Job, peer: Peer): void {
    const acks = this.#acks.get(job);
    if (acks) acks.push({ peer, ack: peer.hold() });
    else this.#acks.set(job, [{ peer, ack: peer.hold() }]);
  }

  /**
   * A foreground client will receive every WORK_* packet of the job, once per
   * submission (as gearmand does: a client that submitted twice waits twice).
   */
  addListener(job: Job, peer: Peer): void {
    if (job.listeners === NOBODY) job.listeners = [];
    job.listeners.push(peer);
    peer.listening.add(job);
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
    job.numerator = "0";
    job.denominator = "0";
    job.fn.running++;
    peer.holding.add(job);
    const own = peer.ability(job.fn)?.timeoutMs ?? 0;
    const lease = own > 0 ? own : this.options.functions[job.fn.name]?.grabForMs ?? this.options.grabForMs;
    job.grabbedUntil = lease > 0 ? now + lease : 0;
    if (lease > 0) this.#timers.push(now + lease, { kind: "timeout", job, assignment: job.assignment, lease: own === 0 });
  }

  /** Removes a finished job everywhere and forgets it in the store. */
  finish(job: Job): void {
    this.retire(job);
    if (job.persisted) this.effect({ kind: "forget", id: job.id });
  }

  /** Removes a finished job from its worker, its listeners and the live tables. */
  retire(job: Job): void {
    if (job.state === "running") {
      job.worker!.holding.delete(job);
      job.worker = undefined;
      job.fn.running--;
    }
    for (const l of job.listeners) l.listening.delete(job);
    job.listeners = NOBODY;
    this.removeJob(job);
  }

  /**
   * Puts a kept ended job (a failed one, typically) back in its queue, as
   * it was submitted, with a fresh retry count. Undefined when it cannot
   * be: its unique is taken by a live job again.
   */
  revive(job: Job, now: number): string | undefined {
    if (job.ended === undefined || this.ended.get(job.id) !== job) return "not an ended job";
    if (job.uniqueKey !== undefined && this.uniques.get(job.fn, job.uniqueKey)) return "a live job holds its unique";
    this.ended.remove(job);
    job.ended = undefined;
    job.retries = 0;
    job.runAt = 0;
    this.jobs.set(job.id, job);
    if (job.uniqueKey !== undefined) this.uniques.add(job);
    job.fn.total++;
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

  /** Drops a job from the tables (no store effect). */
  removeJob(job: Job): void {
    if (job.state === "queued") job.fn.queue.remove(job);
    else if (job.state === "scheduled") job.fn.scheduled[job.priority]--;
    job.state = "done";
    this.#leavePayload(job);
    this.jobs.delete(job.id);
    if (job.uniqueKey !== undefined) this.uniques.remove(job);
    job.fn.total--;
  }

  /** A client stops waiting (every submission of it); a foreground job nobody waits for is dropped if not started. */
  detachListener(job: Job, peer: Peer): void {
    if (job.listeners.includes(peer)) job.listeners = job.listeners.filter((l) => l !== peer);
    if (job.listeners.length === 0 && !job.background && job.state === "queued") {
      this.count("abandoned");
      this.removeJob(job);
    }
  }
}
