/**
 * The job server state machine. Frames go in with the time; bytes per
 * connection and effects come out. No I/O, no clock, no randomness: the same
 * inputs always give the same outputs, which is what the scripted core tests
 * rely on. `JobServer` is the facade the edge holds; `CoreState` behind it is
 * what the handlers see (as `CoreContext`).
 *
 * @module
 */
import type { Frame } from "../protocol/decoder.ts";
import type { CoreView } from "./core_context.ts";
import type { CoreOptions } from "./core_options.ts";
import { CoreState } from "./core_state.ts";
import type { Drained, Effect } from "./effect.ts";
import type { WriteOutput } from "./ready_output.ts";
import type { StoredJob } from "./job.ts";
import { type EdgeSubmission, edgeSubmit, type EdgeSubmitted } from "./edge_submit.ts";
import type { PendingAck } from "./record_shapes.ts";
import { ALL_ROLES, type RoleSet } from "./roles.ts";

/**
 * The sans-I/O Gearman job server: a thin facade over its state. Its surface is what the edge
 * needs and nothing more: the inputs (`open`, `setRoles`, `close`, `receive`, `tick`, `persisted`, `payloadRead`,
 * `restore`, `adopt`, `answer`, `continueBulk`), the output (`drain`, `nextDeadline`), the questions the input pump
 * asks (`busy`, `pendingBytes`, `idle`), `count` for the edge's own counters (they share the
 * `counters` admin listing), and {@link view}, a read-only view for logs, metrics and tests.
 * Handlers get the state as {@link CoreContext}, never this class.
 *
 * @example
 * ```ts
 * const core = new JobServer({ handlePrefix: "H:test" });
 * core.open(1, "127.0.0.1", 5000);
 * for (const frame of decoder.push(bytes)) core.receive(1, frame, Date.now());
 * const { output, effects } = core.drain();
 * ```
 */
/** The connections a worker's updates go to, read one by one (a job's waiting clients: no list is made). */
export interface Consumers {
  readonly listenerCount: number;
  listenerAt(i: number): { readonly id: number; readonly pendingBytes: number };
}

const NO_CONSUMERS: Consumers = Object.freeze({
  listenerCount: 0,
  listenerAt: (): never => {
    throw new RangeError("no consumers");
  },
});

export class JobServer {
  readonly #core: CoreState;
  /** Read-only: options, counters, connections, jobs, functions, payload memory, pending bulk work. */
  readonly view: CoreView;

  constructor(options: CoreOptions) {
    this.#core = new CoreState(options);
    this.view = this.#core;
  }

  /** A connection arrived; `roles`: what it may ask (roles.ts), every role unless its listener says otherwise. */
  open(conn: number, address: string, port: number, roles: RoleSet = ALL_ROLES): void {
    this.#core.open(conn, address, port, roles);
  }

  /** Sets what a connection may ask from now on (its client certificate was mapped to roles after the TLS handshake). */
  setRoles(conn: number, roles: RoleSet): void {
    this.#core.setRoles(conn, roles);
  }

  /** A connection is gone: requeue what it held, drop what only it waited for. */
  close(conn: number, now: number): void {
    this.#core.close(conn, now);
  }

  /** One decoded frame from a connection. */
  receive(conn: number, frame: Frame, now: number): void {
    this.#core.receive(conn, frame, now);
  }

  /** Runs every deadline that is due: epoch jobs, worker timeouts, delayed wake-ups, ended-job expiry. */
  tick(now: number): void {
    this.#core.tick(now);
  }

  /** When `tick` must next run, or `undefined` when nothing is scheduled. */
  nextDeadline(): number | undefined {
    return this.#core.nextDeadline();
  }

  /**
   * The store answered for a batch of `persist` effects (by job id).
   * `coalesced`: jobs a store shared by a cluster did not add, or did not
   * make live again (an `update` reviving an ended job), because a live job
   * of another node holds their function and unique, with that job's handle
   * (docs/cluster.md §7): a new job's submitters get that handle and the
   * job is dropped here; a revived one goes back to the dead set.
   */
  persisted(ids: readonly number[], error: string | undefined, now: number, coalesced?: ReadonlyMap<number, string>): void {
    this.#core.persisted(ids, error, now, coalesced);
  }

  /** Fills a reply slot the edge was asked to answer (a `backup` effect); a closed connection is skipped. */
  answer(conn: number, reply: PendingAck, text: string): void {
    this.#core.answer(conn, reply, text);
  }

  /**
   * The store answered a `read` effect: the workload, or `error` (neither: it
   * no longer has it). `outage`: the store could not be reached; the job is
   * put back in its queue instead of failing.
   */
  payloadRead(token: number, data: Uint8Array | undefined, error: string | undefined, now: number, outage = false): void {
    this.#core.payloadRead(token, data, error, now, outage);
  }

  /** Loads jobs from the store at start-up, before any connection (restore_jobs.ts); returns how many. */
  restore(stored: Iterable<StoredJob>, now: number): number {
    return this.#core.restore(stored, now);
  }

  /**
   * Allocates job ids in `[base, base + size)` after `highest`, from now on:
   * a cluster node's own range (docs/cluster.md), set before {@link restore}.
   */
  useIds(base: number, size: number, highest: number): void {
    this.#core.useIds(base, size, highest);
  }

  /**
   * Takes over a dead cluster node's jobs at run time (adopt_jobs.ts):
   * entered and scheduled, sleeping workers woken; returns how many were new.
   */
  adopt(stored: Iterable<StoredJob>, from: string, now: number): number {
    return this.#core.adopt(stored, from, now);
  }

  /**
   * A background job the edge submits itself (a schedule's slot,
   * edge_submit.ts): checked and coalesced like SUBMIT_JOB_BG; its `persist`
   * effect comes out with the next drain, and nobody waits for the answer.
   */
  submit(sub: EdgeSubmission, now: number): EdgeSubmitted {
    return edgeSubmit(this.#core, sub, now);
  }

  /** Runs one slice of bulk admin work; true while more remains (call again on a later loop turn). */
  continueBulk(now: number): boolean {
    return this.#core.continueBulk(now);
  }

  /** True while a reply to this connection is being built in slices: hold its later requests until then. */
  busy(conn: number): boolean {
    return this.#core.busy(conn);
  }

  /** Output the core holds for a connection, ready or waiting for the store (0 for an unknown one). */
  pendingBytes(conn: number): number {
    return this.#core.peers.get(conn)?.pendingBytes ?? 0;
  }

  /**
   * The connections a worker's updates go to: the listeners of the running
   * job it last sent WORK_DATA, WORK_WARNING or WORK_STATUS for (none once
   * that job ended). The edge reads no more from the worker while one of
   * them is over its output cap (docs/reliability.md R1); O(listeners).
   */
  consumers(conn: number): Consumers {
    const peer = this.#core.peers.get(conn);
    const job = peer?.streaming;
    if (job === undefined) return NO_CONSUMERS;
    if (job.state !== "running" || job.worker !== peer) {
      peer!.streaming = undefined;
      return NO_CONSUMERS;
    }
    return job;
  }

  /** True when no job is persisting, queued, scheduled or running. */
  get idle(): boolean {
    return this.#core.idle;
  }

  /** Counts an event of the edge (a refused or dropped connection, a defect) with the core's own. */
  count(cause: string, by = 1): void {
    this.#core.count(cause, by);
  }

  /** Every connection's output bytes and the effects to carry out, since the last drain. */
  drain(): Drained {
    return this.#core.drain();
  }

  /** The same for the edge, without allocating: `write` gets each connection's chunks and its ready buffer, both reused after it returns. */
  flush(write: WriteOutput): readonly Effect[] {
    return this.#core.flush(write);
  }
}
