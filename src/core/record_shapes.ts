/**
 * The shapes of the core's records that name each other: a connection (`Peer`) holds jobs and
 * registers functions, a function record lists its workers and queues jobs, and a job names its
 * function and its connections. Declared here, apart from the classes, so that `job.ts`,
 * `function_record.ts` and `peer.ts` each import this file and none imports back: src/core has no
 * import circle (docs/architecture.md §2). The job is the type parameter `J`, so this file needs
 * none of them; `Peer implements PeerShape<Job>` and `FunctionRecord implements
 * FunctionShape<Job>`, and each shape lists every public member of its class, so a value typed
 * by the shape is the class's to the compiler.
 *
 * @module
 */
import type { FunctionMetrics } from "./function_metrics.ts";
import type { JobQueue, Queued } from "./job_queue.ts";
import type { ReadyOutput } from "./ready_output.ts";
import type { SmallSet } from "./small_set.ts";
import type { HandlePrefixes } from "./handle_prefixes.ts";
import type { WorkloadPool } from "./workload_pool.ts";

/** What a job reads through its function record from the table it lives in: pooled workloads, handle prefixes. */
export interface JobHome {
  readonly workloads: WorkloadPool;
  readonly prefixes: HandlePrefixes;
}

/** A reply slot held in a peer's output until the store answers. */
export interface PendingAck {
  bytes: Uint8Array | undefined;
}

/** A registration made by CAN_DO or CAN_DO_TIMEOUT. */
export interface Ability<J extends Queued<J>> {
  readonly fn: FunctionShape<J>;
  /** Per-assignment time limit in ms; 0 means none. */
  timeoutMs: number;
}

/** One connection as the core sees it: `Peer` (peer.ts), whose members say more. */
export interface PeerShape<J extends Queued<J>> {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  clientId: string;
  roles: number;
  exceptions: boolean;
  reliable: boolean;
  abilities: Ability<J>[];
  sleeping: boolean;
  noopSent: boolean;
  readonly holding: SmallSet<J>;
  readonly listening: SmallSet<J>;
  uniques: number;
  streaming: J | undefined;
  readonly swallow: string[];
  ready: ReadyOutput;
  /** In the outbox's list of connections to write. */
  dirty: boolean;
  held: (Uint8Array | PendingAck | J)[];
  heldBytes: number;
  unresolved: number;
  closed: boolean;
  readonly readyNow: boolean;
  readonly pendingBytes: number;
  swallowLater(handle: string): void;
  push(bytes: Uint8Array): boolean;
  jobReplies: Map<J, Uint8Array> | undefined;
  hold(): PendingAck;
  awaitJob(job: J): void;
  resolveJob(job: J, reply: Uint8Array | undefined): void;
  resolve(ack: PendingAck, bytes: Uint8Array): void;
  release(): boolean;
  ability(fn: FunctionShape<J>): Ability<J> | undefined;
}

/** Everything the server knows about one function name: `FunctionRecord` (function_record.ts). */
export interface FunctionShape<J extends Queued<J>> {
  readonly name: string;
  readonly queue: JobQueue<J>;
  readonly workers: PeerShape<J>[];
  /** The table's workload pool and handle prefixes. */
  readonly home: JobHome;
  total: number;
  running: number;
  readonly scheduled: [number, number, number];
  maxQueue: readonly [number, number, number];
  completed: number;
  failed: number;
  metrics: FunctionMetrics | undefined;
  wakeCursor: number;
  rewakeArmed: boolean;
  pinned: boolean;
  readonly idle: boolean;
  waitingByPriority(): [number, number, number];
}
