/**
 * Function records: per-function queues, the workers that can do it, the
 * queue limits.
 *
 * @module
 */
import type { FunctionMetrics } from "./function_metrics.ts";
import type { Job } from "./job.ts";
import { JobQueue } from "./job_queue.ts";
import { HandlePrefixes } from "./handle_prefixes.ts";
import type { FunctionShape, JobHome, PeerShape } from "./record_shapes.ts";
import { WorkloadPool } from "./workload_pool.ts";

/** For a record made outside a job table: a pool that holds nothing (every workload keeps its own buffer). */
const NO_HOME: JobHome = { workloads: new WorkloadPool(0), prefixes: new HandlePrefixes("") };

/** Everything the server knows about one function name. */
export class FunctionRecord implements FunctionShape<Job> {
  readonly name: string;
  readonly queue = new JobQueue<Job>();
  /** Connections that registered the function, in registration order (each a `Peer`; see record_shapes.ts). */
  readonly workers: PeerShape<Job>[] = [];
  /** The table's workload pool and handle prefixes, which its jobs read through their record. */
  readonly home: JobHome;
  /** Jobs in the table: persisting, scheduled, queued and running. */
  total = 0;
  running = 0;
  /** Scheduled (not yet due) jobs per priority; they count as queued in admin output. */
  readonly scheduled: [number, number, number] = [0, 0, 0];
  /** Queue limits for high, normal, low submissions; 0 means unlimited. */
  maxQueue: readonly [number, number, number];
  /** Jobs of the function that ended, since the record was made (the TUI's throughput). */
  completed = 0;
  failed = 0;
  /** Submissions, failures by reason, wait and run times (function_metrics.ts); made on first use. */
  metrics: FunctionMetrics | undefined = undefined;
  /** Rotates the first worker woken so successive jobs wake different workers. */
  wakeCursor = 0;
  /** A delayed re-wake is armed. */
  rewakeArmed = false;
  /** An operator made or set the function (`create function`, `maxqueue`, a per-function config): never reclaimed. */
  pinned = false;

  constructor(name: string, maxQueue: readonly [number, number, number], home = NO_HOME) {
    this.name = name;
    this.home = home;
    this.maxQueue = maxQueue;
  }

  /** Queued jobs per priority, including scheduled ones (gearmand's `prioritystatus`). */
  waitingByPriority(): [number, number, number] {
    const q = this.queue.counts();
    return [q[0] + this.scheduled[0], q[1] + this.scheduled[1], q[2] + this.scheduled[2]];
  }

  /** True when no connection, job or setting keeps the record: it may be reclaimed (docs/protocol.md §functions). */
  get idle(): boolean {
    return this.total === 0 && this.workers.length === 0 && !this.pinned;
  }
}
