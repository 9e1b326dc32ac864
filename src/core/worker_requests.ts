/**
 * Handlers for what workers send: abilities, sleeping and grabbing, and
 * WORK_* results that fan out to every waiting client.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import type { Packet } from "../protocol/decoder.ts";
import { encodeHandlePacket, encodePacket } from "../protocol/encoder.ts";
import type { Job } from "./job.ts";
import type { CoreContext, PacketHandler } from "./core_context.ts";
import { functionNameProblem, leadingDigits } from "./names.ts";
import { completeJob, failureText, jobFailed } from "./job_endings.ts";
import { type AssignReply, sendAssign, sendPooledAssign } from "./payload_reads.ts";
import type { Peer } from "./peer.ts";
import { addAbility, hasWorkFor, removeAbility, takeJobFor } from "./worker_scheduling.ts";

function register(server: CoreContext, peer: Peer, name: string, timeoutMs: number): void {
  const bad = functionNameProblem(name, server.options.maxFunctionName);
  if (bad) {
    server.count("invalid_function_name");
    return server.error(peer, bad.code, bad.text);
  }
  // The connection's quota first: a refused CAN_DO creates no record (100,000 of them filled
  // max_functions). fn.workers, not the connection's 1,024 abilities: each refusal costs O(1).
  const known = server.functions.get(name);
  if (peer.abilities.length >= server.options.maxFunctionsPerConnection && !known?.workers.includes(peer)) {
    server.count("too_many_abilities");
    return server.error(peer, "TOO_MANY_FUNCTIONS", "Connection registered too many functions");
  }
  const fn = known ?? server.fn(name, true);
  if (!fn) {
    server.count("function_table_full");
    return server.error(peer, "QUEUE_ERROR", "Too many functions");
  }
  addAbility(peer, fn, timeoutMs);
}

const canDo: PacketHandler = (server, peer, packet) => register(server, peer, packet.args[0]!, 0);

const canDoTimeout: PacketHandler = (server, peer, packet) => {
  const [name, value] = packet.args as [string, string];
  if (!/^\s*-?\d{1,20}\s*$/.test(value)) {
    server.count("invalid_timeout");
    return server.error(peer, "INVALID_ARGUMENT", "CAN_DO_TIMEOUT needs a timeout in milliseconds");
  }
  const ms = Number(value);
  // gearmand raises 1..999 to one second; 0 or negative means no limit.
  const timeout = ms <= 0 ? 0 : Math.min(Math.max(ms, 1000), server.options.maxWorkerTimeoutMs);
  register(server, peer, name, timeout);
};

const cantDo: PacketHandler = (server, peer, packet, now) => {
  const fn = server.fn(packet.args[0]!, false);
  if (!fn) return;
  removeAbility(server, peer, fn, now);
  server.noteIdle(fn);
};

const resetAbilities: PacketHandler = (server, peer, _packet, now) => {
  for (const a of [...peer.abilities]) {
    removeAbility(server, peer, a.fn, now);
    server.noteIdle(a.fn);
  }
};

const preSleep: PacketHandler = (server, peer) => {
  if (hasWorkFor(peer)) return server.sendNoop(peer);
  peer.sleeping = true;
  peer.noopSent = false;
};

function grabHandler(reply: AssignReply): PacketHandler {
  return (server, peer, _packet, now) => {
    peer.sleeping = false;
    peer.noopSent = false;
    const job = takeJobFor(server, peer);
    if (!job) return server.sendNoJob(peer);
    assignAndSend(server, peer, job, reply, now);
  };
}

/**
 * Hands a job to the worker: JOB_ASSIGN, JOB_ASSIGN_UNIQ or JOB_ASSIGN_ALL,
 * as the grab asked. A workload left to the store is read back first: the
 * reply slot is held (later replies to this worker wait behind it, other
 * workers do not) and filled when the store answers (settle_read.ts).
 */
export function assignAndSend(server: CoreContext, peer: Peer, job: Job, reply: AssignReply, now: number): void {
  server.assign(job, peer, now);
  const slot = job.pooled;
  if (slot >= 0) return sendPooledAssign(server, peer, job, reply, slot);
  const data = job.data;
  if (data !== undefined) return sendAssign(server, peer, job, reply, data);
  server.readPayload(job.id, { kind: "assign", peer, ack: server.hold(peer), job, assignment: job.assignment, reply });
}

const NOT_FOUND_TEXT: Record<number, string> = {
  [Cmd.WORK_DATA]: "Job does not exist on server",
  [Cmd.WORK_WARNING]: "Job does not exist on server",
  [Cmd.WORK_EXCEPTION]: "An exception was received for a job that does not exist",
};

/** The job a WORK_* packet names, if this worker holds it; otherwise answers for it. */
export function ownedJob(server: Pick<CoreContext, "jobAt" | "count" | "error">, peer: Peer, packet: Packet): Job | undefined {
  const job = server.jobAt(packet.body, packet.start, packet.firstEnd); // no handle string on the common path
  if (job && job.worker === peer) return job;
  const handle = packet.args[0]!;
  const i = peer.swallow.indexOf(handle);
  if (i !== -1) {
    if (packet.code === Cmd.WORK_FAIL || packet.code === Cmd.WORK_COMPLETE) peer.swallow.splice(i, 1);
    return undefined;
  }
  server.count("result_for_unknown_job");
  if (handle.length > 64) {
    server.error(peer, "ARGUMENT_TOO_LARGE", "Job handle too large");
  } else {
    server.error(peer, "JOB_NOT_FOUND", NOT_FOUND_TEXT[packet.code] ?? "Job given in work result not found");
  }
  return undefined;
}

/** Sends a worker's update to the job's listeners; the edge may pause the worker while one of them does not read. */
function forward(server: Pick<CoreContext, "send">, worker: Peer, job: Job, bytes: Uint8Array): void {
  worker.streaming = job;
  for (let i = 0, n = job.listenerCount; i < n; i++) server.send(job.listenerAt(i), bytes);
}

/**
 * Sends a worker's WORK_DATA, WORK_WARNING or WORK_COMPLETE to the listeners: to one, its data
 * copied from the read straight into the listener's output; to several, encoded once.
 */
function relayData(server: Pick<CoreContext, "send" | "sendHandleData">, code: number, job: Job, packet: Packet): void {
  const n = job.listenerCount;
  if (n === 1) return server.sendHandleData(job.listenerAt(0), code, job.prefix, job.id, packet.body, packet.dataAt, packet.end);
  if (n === 0) return;
  const bytes = encodeHandlePacket(code, job.prefix, job.id, packet.data);
  for (let i = 0; i < n; i++) server.send(job.listenerAt(i), bytes);
}

const workStatus: PacketHandler = (server, peer, packet) => {
  const job = ownedJob(server, peer, packet);
  if (!job) return;
  job.numerator = leadingDigits(packet.args[1]!);
  job.denominator = leadingDigits(packet.args[2]!);
  if (job.listenerCount > 0) forward(server, peer, job, encodePacket(Cmd.WORK_STATUS, packet.args));
};

function relay(code: number): PacketHandler {
  return (server, peer, packet) => {
    const job = ownedJob(server, peer, packet);
    if (!job || job.listenerCount === 0) return;
    peer.streaming = job; // the edge may pause the worker while a listener does not read
    relayData(server, code, job, packet);
  };
}

const workComplete: PacketHandler = (server, peer, packet, now) => {
  const job = ownedJob(server, peer, packet);
  if (!job) return;
  relayData(server, Cmd.WORK_COMPLETE, job, packet);
  completeJob(server, job, now);
};

const workFail: PacketHandler = (server, peer, packet, now) => {
  const job = ownedJob(server, peer, packet);
  if (!job) return;
  jobFailed(server, job, now, { message: "WORK_FAIL" });
};

const workException: PacketHandler = (server, peer, packet, now) => {
  const job = ownedJob(server, peer, packet);
  if (!job) return;
  // Perl workers follow WORK_EXCEPTION with WORK_FAIL: drop that quietly either way.
  peer.swallowLater(job.handle);
  const data = packet.data ?? new Uint8Array(0);
  jobFailed(server, job, now, { message: failureText(data), exception: packet.owned ? data : data.slice() });
};

/** Worker-side packet handlers by code. */
export const WORKER_HANDLERS: Record<number, PacketHandler> = {
  [Cmd.CAN_DO]: canDo,
  [Cmd.CAN_DO_TIMEOUT]: canDoTimeout,
  [Cmd.CANT_DO]: cantDo,
  [Cmd.RESET_ABILITIES]: resetAbilities,
  [Cmd.PRE_SLEEP]: preSleep,
  [Cmd.GRAB_JOB]: grabHandler("plain"),
  [Cmd.GRAB_JOB_UNIQ]: grabHandler("uniq"),
  [Cmd.GRAB_JOB_ALL]: grabHandler("all"),
  [Cmd.WORK_STATUS]: workStatus,
  [Cmd.WORK_DATA]: relay(Cmd.WORK_DATA),
  [Cmd.WORK_WARNING]: relay(Cmd.WORK_WARNING),
  [Cmd.WORK_COMPLETE]: workComplete,
  [Cmd.WORK_FAIL]: workFail,
  [Cmd.WORK_EXCEPTION]: workException,
};
