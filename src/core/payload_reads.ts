/**
 * Workloads being read back from the store. Past `maxPayloadMemory` a
 * committed job leaves its workload to the store; when a worker takes such a
 * job (or an operator asks `job show` its size) the core holds the reply slot,
 * emits a `read` effect with a token, and finishes the reply when the edge
 * answers through `JobServer.payloadRead` (settle_read.ts). The core does no
 * I/O: it only remembers, by token, what each read was for.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { encodeHandlePacket } from "../protocol/encoder.ts";
import type { Job } from "./job.ts";
import type { PendingAck } from "./record_shapes.ts";
import type { Outbox } from "./outbox.ts";
import type { Peer } from "./peer.ts";

/** Which JOB_ASSIGN* a grab asked for. */
export type AssignReply = "plain" | "uniq" | "all";

/** What a read is for, and the held reply slot its answer fills. */
export type PayloadRead =
  /**
   * A worker's grab: JOB_ASSIGN* once the bytes are back, if the job is still
   * this worker's under the same `assignment` (it may have been cancelled,
   * requeued and taken again meanwhile).
   */
  | { kind: "assign"; peer: Peer; ack: PendingAck; job: Job; assignment: number; reply: AssignReply }
  /** `job show`: the reply is built at once, but for the size between `before` and `after`. */
  | { kind: "size"; peer: Peer; ack: PendingAck; before: string; after: string };

/** Reads in flight by token. Tokens count up from 1 and are never reused. */
export class PayloadReads {
  #next = 0;
  readonly #pending = new Map<number, PayloadRead>();

  /** Remembers a read; returns the token the edge answers with. */
  add(read: PayloadRead): number {
    const token = ++this.#next;
    this.#pending.set(token, read);
    return token;
  }

  /** The read a token stands for, forgotten here; undefined for an unknown or already answered token. */
  take(token: number): PayloadRead | undefined {
    const read = this.#pending.get(token);
    this.#pending.delete(token);
    return read;
  }

  /** Reads the edge has not answered yet. */
  get size(): number {
    return this.#pending.size;
  }
}

/** Which of JOB_ASSIGN, JOB_ASSIGN_UNIQ or JOB_ASSIGN_ALL a grab gets (ALL only for a job with a reducer). */
function assignCode(job: Job, reply: AssignReply): number {
  if (reply === "plain") return Cmd.JOB_ASSIGN;
  return reply === "all" && job.reducer !== "" ? Cmd.JOB_ASSIGN_ALL : Cmd.JOB_ASSIGN_UNIQ;
}

/** The JOB_ASSIGN* a grab asked for, as bytes (for a reply slot filled later). */
export function assignPacket(job: Job, reply: AssignReply, data: Uint8Array): Uint8Array {
  const code = assignCode(job, reply);
  return encodeHandlePacket(code, job.prefix, job.id, data, job.fn.name, uniqueOf(code, job), reducerOf(code, job));
}

/** Sends the JOB_ASSIGN* a grab asked for, encoded into the worker's output in place. */
export function sendAssign(out: Pick<Outbox, "sendHandlePacket">, peer: Peer, job: Job, reply: AssignReply, data: Uint8Array): void {
  const code = assignCode(job, reply);
  out.sendHandlePacket(peer, code, job.prefix, job.id, data, job.fn.name, uniqueOf(code, job), reducerOf(code, job));
}

/** {@link sendAssign} of a job whose workload is in the workload pool: copied from its slot into the output. */
export function sendPooledAssign(out: Pick<Outbox, "sendHandleData">, peer: Peer, job: Job, reply: AssignReply, slot: number): void {
  const code = assignCode(job, reply);
  const pool = job.fn.home.workloads;
  const start = pool.start(slot);
  const end = start + pool.length(slot);
  out.sendHandleData(peer, code, job.prefix, job.id, pool.page(slot), start, end, job.fn.name, uniqueOf(code, job), reducerOf(code, job));
}

const uniqueOf = (code: number, job: Job) => code === Cmd.JOB_ASSIGN ? undefined : job.unique;
const reducerOf = (code: number, job: Job) => code === Cmd.JOB_ASSIGN_ALL ? job.reducer : undefined;
