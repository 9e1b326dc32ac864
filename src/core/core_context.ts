/**
 * What the request handlers see of the job server: narrow interfaces, in a
 * file that imports no handler and not the server, so handlers never import
 * the class that dispatches to them (no import cycle, type-only ones
 * included). `JobServer` implements {@link CoreContext}; a handler asks for
 * the parts it uses (`Pick<CoreContext, ...>` or one of the parts below).
 *
 * @module
 */
import type { Packet } from "../protocol/decoder.ts";
import type { BulkWork } from "./bulk_work.ts";
import type { CoreOptions } from "./core_options.ts";
import type { EndedJobs } from "./ended_jobs.ts";
import type { FunctionRecord } from "./function_record.ts";
import type { FunctionTable } from "./function_table.ts";
import type { IdTable } from "./id_table.ts";
import type { Job } from "./job.ts";
import type { JobTable } from "./job_table.ts";
import type { WorkloadPool } from "./workload_pool.ts";
import type { Outbox } from "./outbox.ts";
import type { PayloadRead } from "./payload_reads.ts";
import type { Peer } from "./peer.ts";
import type { Timer } from "./timer.ts";
import type { UniqueIndex } from "./unique_index.ts";

/** Bytes and effects out (the {@link Outbox} side of the server). */
export type OutputContext = Pick<
  Outbox,
  "send" | "sendHandlePacket" | "sendHandleData" | "sendPacket" | "error" | "sendNoJob" | "sendNoop" | "hold" | "effect" | "release"
>;

/** Event and error counters by cause. */
export interface CounterContext {
  readonly counters: ReadonlyMap<string, number>;
  count(cause: string, by?: number): void;
}

/** The job table: live jobs, uniques, functions, the ended set, payload memory. */
export interface JobTableContext {
  readonly options: CoreOptions;
  readonly jobs: IdTable<Job>;
  readonly uniques: UniqueIndex;
  readonly functions: FunctionTable;
  readonly ended: EndedJobs;
  /** Jobs created (a counter kept off the `counters` map: it is on the hot path). */
  submitted: number;
  readonly payloadBytes: number;
  /** Small foreground workloads out of the collected heap (workload_pool.ts). */
  readonly workloads: WorkloadPool;
  readonly lastId: number;
  /** Whether job `id` was made here after `last` (a {@link lastId}): adopted jobs never were. */
  madeAfter(id: number, last: number): boolean;
  fn(name: string, create: boolean, force?: boolean): FunctionRecord | undefined;
  /** A record may have become idle (its last worker left): it may be reclaimed when the table is full. */
  noteIdle(fn: FunctionRecord): void;
  job(handle: string): Job | undefined;
  /** The job the handle at `bytes[start, end)` names, read in place (`JobTable.jobAt`). */
  jobAt(bytes: Uint8Array, start: number, end: number): Job | undefined;
  nextId(): number;
  /** See `JobTable.newJob`: the same signature, not restated. */
  newJob(...args: Parameters<JobTable["newJob"]>): Job;
  finish(job: Job): void;
  retire(job: Job): void;
  revive(job: Job, now: number): string | undefined;
  forgetEnded(job: Job): boolean;
}

/** The scheduler: queues, timers, assignment, listeners and store acknowledgements. */
export interface SchedulerContext {
  at(when: number, timer: Timer): void;
  schedule(job: Job, now: number): void;
  enqueue(job: Job, now: number): void;
  assign(job: Job, peer: Peer, now: number): void;
  persist(job: Job, submitter: Peer): void;
  awaitAck(job: Job, peer: Peer): void;
  addListener(job: Job, peer: Peer): void;
  /** Asks the edge for a workload left to the store; `read` says what its answer completes. */
  readPayload(id: number, read: PayloadRead): void;
  replace(old: Job, created: Job[], handles: string[], peer: Peer): void;
}

/** Everything a handler may use: the connections, admin bulk work and the parts above. */
export interface CoreContext extends OutputContext, CounterContext, JobTableContext, SchedulerContext {
  readonly peers: ReadonlyMap<number, Peer>;
  readonly bulk: BulkWork;
}

/**
 * What the edge, its logs and metrics, and tests may read of the core, through
 * `JobServer.view`; nothing here changes it (jobs and functions are counted or listed, never
 * made).
 */
export interface CoreView {
  readonly options: Readonly<CoreOptions>;
  readonly counters: ReadonlyMap<string, number>;
  readonly peers: ReadonlyMap<number, Readonly<Peer>>;
  readonly jobs: Pick<IdTable<Job>, "size" | "get" | "values">;
  readonly functions: Pick<FunctionTable, "size" | "get" | "has" | "values">;
  /** The kept ended jobs: how many, and the dead ones per function (`gearbox_jobs_dead`). */
  readonly ended: Pick<EndedJobs, "size" | "deadByFunction">;
  /** Workload bytes held in memory by committed jobs. */
  readonly payloadBytes: number;
  /** The pool of small foreground workloads: slots in use, bytes of its pages. */
  readonly workloads: Pick<WorkloadPool, "live" | "bytes">;
  /** Bulk admin work still to run in slices. */
  readonly bulk: Pick<BulkWork, "pending">;
  /** Workload reads the edge has not answered yet (a graceful drain waits for them). */
  readonly reading: number;
}

/** A packet handler: translates one request into calls on the core. */
export type PacketHandler = (core: CoreContext, peer: Peer, packet: Packet, now: number) => void;
