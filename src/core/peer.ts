/**
 * The core's view of one connection: what it registered, what it holds,
 * what it waits for, and its ordered output (held behind pending store
 * acknowledgements so replies never overtake each other).
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { handlePacketsSize, writeHandlePackets } from "../protocol/encoder.ts";
import { Job } from "./job.ts";
import { ReadyOutput } from "./ready_output.ts";
import { SmallSet } from "./small_set.ts";
import type { Ability, FunctionShape, PeerShape, PendingAck } from "./record_shapes.ts";
import { ALL_ROLES, type RoleSet } from "./roles.ts";

/** One connection as the core sees it. */
export class Peer implements PeerShape<Job> {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  clientId = "-";
  /** What this connection may ask (roles.ts): its listener's roles, or its certificate's. */
  roles: RoleSet = ALL_ROLES;
  exceptions: boolean;
  /** OPTION_REQ "reliable": the worker may use gearbox's reliable-queue packets. */
  reliable = false;
  /** Most recently registered first (gearmand's order). */
  abilities: Ability<Job>[] = [];
  sleeping = false;
  noopSent = false;
  /** Jobs assigned to this connection as a worker (a small set: mostly one, and no allocation per job). */
  readonly holding = new SmallSet<Job>();
  /** Foreground jobs this connection waits on as a client. */
  readonly listening = new SmallSet<Job>();
  /**
   * Jobs with a non-empty unique the connection has outstanding: foreground
   * ones it waits on, and submissions still waiting for the store's answer
   * (`max_uniques_per_connection`).
   */
  uniques = 0;
  /**
   * The job whose WORK_DATA, WORK_WARNING or WORK_STATUS this worker sent
   * last: the edge reads no more from the worker while one of its listeners
   * does not read its output (cross-connection backpressure; see
   * `JobServer.consumers` and docs/reliability.md R1).
   */
  streaming: Job | undefined = undefined;
  /**
   * Handles this worker may still send results for although the job ended
   * (WORK_EXCEPTION followed by WORK_FAIL, as Perl workers do; a cancelled
   * job). Those results are dropped silently instead of answered with ERROR.
   */
  readonly swallow: string[] = [];
  /** Output ready to write now. */
  ready = new ReadyOutput();
  /** In the outbox's list of connections with output to write (a flag and an array: cheaper than a Set per packet). */
  dirty = false;
  /**
   * Output queued behind the first unresolved acknowledgement: bytes, reply
   * slots, and background jobs whose JOB_CREATED waits for the store's
   * commit (the job is its own slot: nothing is allocated per submission).
   */
  held: (Uint8Array | PendingAck | Job)[] = [];
  /** Bytes in `held` (acknowledgements not yet filled count as nothing). */
  heldBytes = 0;
  unresolved = 0;
  closed = false;
  /** What held jobs get instead of JOB_CREATED (a refusal, another node's handle): rare, so made on first use. */
  jobReplies: Map<Job, Uint8Array> | undefined = undefined;

  constructor(id: number, address: string, port: number, exceptions: boolean) {
    this.id = id;
    this.address = address;
    this.port = port;
    this.exceptions = exceptions;
  }

  /** Remembers a handle whose late results must be dropped silently (bounded). */
  swallowLater(handle: string): void {
    this.swallow.push(handle);
    if (this.swallow.length > 32) this.swallow.shift();
  }

  /** Queues output in order; returns true when bytes became ready to write. */
  push(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.unresolved > 0) {
      this.held.push(bytes);
      this.heldBytes += bytes.length;
      return false;
    }
    this.ready.add(bytes);
    return true;
  }

  /** True when output can go straight to ready (none waits for the store): it may then be encoded into `ready` in place. */
  get readyNow(): boolean {
    return !this.closed && this.unresolved === 0;
  }

  /** Reserves a reply slot that a later {@link resolve} fills in. */
  hold(): PendingAck {
    const ack: PendingAck = { bytes: undefined };
    this.held.push(ack);
    this.unresolved++;
    return ack;
  }

  /** Holds the JOB_CREATED of a background job being committed; the store's answer sets `job.answered`. */
  awaitJob(job: Job): void {
    this.held.push(job);
    this.unresolved++;
  }

  /** The store answered for a held job: it gets JOB_CREATED, or `reply` when given; call {@link release} once after a batch. */
  resolveJob(job: Job, reply: Uint8Array | undefined): void {
    if (reply !== undefined) (this.jobReplies ??= new Map()).set(job, reply);
    this.unresolved--;
  }

  /** Fills a reserved slot; call {@link release} once after filling a batch. */
  resolve(ack: PendingAck, bytes: Uint8Array): void {
    ack.bytes = bytes;
    this.unresolved--;
  }

  /**
   * Moves the resolved prefix of held output to ready; returns true when any
   * moved. A run of answered jobs is encoded as JOB_CREATED packets straight
   * into the ready output (no buffer of their own), in order with the rest.
   */
  release(): boolean {
    if (this.closed) return false;
    let i = 0;
    const held = this.held;
    while (i < held.length) {
      const item = held[i]!;
      let bytes: Uint8Array;
      if (item instanceof Uint8Array) {
        bytes = item;
        this.heldBytes -= item.length;
        i++;
      } else if (item instanceof Job) {
        if (!item.answered) break;
        const reply = this.jobReplies?.get(item);
        if (reply !== undefined) {
          bytes = reply;
          i++;
        } else {
          let end = i + 1;
          while (end < held.length && answeredPlainly(held[end], this.jobReplies)) end++;
          // Encoded straight into the ready output: no buffer of their own (reserve first: it may replace the buffer).
          const at = this.ready.reserve(handlePacketsSize(held as Job[], i, end));
          writeHandlePackets(this.ready.buffer, at, Cmd.JOB_CREATED, held as Job[], i, end);
          i = end;
          continue;
        }
      } else if (item.bytes !== undefined) {
        bytes = item.bytes;
        i++;
      } else break;
      this.ready.add(bytes);
    }
    if (i === 0) return false;
    // One splice per batch, not one per acknowledgement (that was quadratic).
    this.held = i === held.length ? [] : held.slice(i);
    if (this.held.length === 0) this.jobReplies = undefined;
    return true;
  }

  /** Output the core holds for this connection: ready to write or waiting for the store. */
  get pendingBytes(): number {
    return this.ready.bytes + this.heldBytes;
  }

  ability(fn: FunctionShape<Job>): Ability<Job> | undefined {
    // A loop, not find(): every assignment asks, and a callback is a closure made per call.
    for (const a of this.abilities) if (a.fn === fn) return a;
    return undefined;
  }
}

/** A held job the store answered whose reply is its JOB_CREATED. */
function answeredPlainly(item: Uint8Array | PendingAck | Job | undefined, replies: Map<Job, Uint8Array> | undefined): boolean {
  return item instanceof Job && item.answered && replies?.has(item) !== true;
}
