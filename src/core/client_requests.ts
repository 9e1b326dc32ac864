/**
 * Handlers for what clients send: submissions, status queries, options,
 * echo and client ids. They translate packets into calls on the server.
 *
 * @module
 */
import { Cmd, COMMANDS } from "../protocol/commands.ts";
import { Packet } from "../protocol/packet.ts";
import type { FunctionRecord } from "./function_record.ts";
import { type Job, Priority } from "./job.ts";
import { uniqueKeyOf } from "./unique_keys.ts";
import type { CoreContext, PacketHandler } from "./core_context.ts";
import { functionNameProblem, sanitizeClientId } from "./names.ts";
import type { Peer } from "./peer.ts";
import { metricsOf } from "./function_metrics.ts";

/** What a SUBMIT_* packet type means. */
export interface SubmitKind {
  priority: Priority;
  background: boolean;
  epoch?: boolean;
  reduce?: boolean;
}

/** A submission that passed every check, ready to become a job. */
export interface Submission {
  fn: FunctionRecord;
  unique: string;
  /** Coalescing key (see {@link uniqueKeyOf}). */
  key: string | undefined;
  /** The packet, whose data becomes the job's workload (copied from the read, or kept when it is the packet's own). */
  packet: Packet;
  reducer: string;
  runAt: number;
  kind: SubmitKind;
}

/** Why a submission is refused: the ERROR to answer and the counter to bump. */
export interface Refusal {
  code: string;
  text: string;
  count: string;
}

/**
 * The checked form of the packet being handled: one object, filled per
 * packet, since a submission is used up before the handler returns (the
 * job keeps what it needs). WORK_REPLACE and the edge, which hold several
 * at once, get their own.
 */
const NO_DATA = new Uint8Array(0);
const NO_PACKET = Packet.of(COMMANDS[Cmd.SUBMIT_JOB]!, ["", ""], NO_DATA);
const SCRATCH: Submission = {
  fn: undefined as unknown as FunctionRecord,
  unique: "",
  key: undefined,
  packet: NO_PACKET,
  reducer: "",
  runAt: 0,
  kind: { priority: Priority.Normal, background: false },
};

function submitHandler(kind: SubmitKind): PacketHandler {
  return (server, peer, packet, now) => {
    const unique = packet.arg(1); // read once: the quota and the checks both need it
    const sub = quotaRefusal(server, peer, unique) ?? checkSubmission(server, packet, now, kind, SCRATCH, unique);
    if ("code" in sub) {
      server.count(sub.count);
      return server.error(peer, sub.code, sub.text);
    }
    submit(server, peer, sub, now);
    SCRATCH.packet = NO_PACKET; // it views the read: not to be pinned until the next submission
  };
}

/**
 * The connection's own quotas, checked before anything is made: the jobs it
 * has outstanding (foreground jobs it waits on, submissions waiting for the
 * store's answer; acknowledged background jobs are the store's, bounded by
 * max_queue) and those of them with a non-empty unique.
 */
function quotaRefusal(server: CoreContext, peer: Peer, unique: string): Refusal | undefined {
  const o = server.options;
  if (peer.listening.size + peer.unresolved >= o.maxJobsPerConnection) {
    return { code: "TOO_MANY_JOBS", text: "Connection has too many jobs outstanding", count: "too_many_jobs" };
  }
  if (unique !== "" && peer.uniques >= o.maxUniquesPerConnection) {
    return { code: "TOO_MANY_UNIQUES", text: "Connection has too many jobs with a unique outstanding", count: "too_many_uniques" };
  }
  return undefined;
}

/** Checks a SUBMIT_* packet (names, sizes, epoch, queue limit) without changing anything but the function table. */
export function checkSubmission(
  server: CoreContext,
  packet: Packet,
  now: number,
  kind: SubmitKind,
  into?: Submission,
  unique = packet.arg(1),
): Submission | Refusal {
  // Argument by argument: no array of them is made.
  const name = packet.arg(0);
  const o = server.options;
  let fn = server.functions.get(name);
  if (!fn) {
    const bad = functionNameProblem(name, o.maxFunctionName);
    if (bad) return { ...bad, count: "invalid_function_name" };
  }
  if (unique.length > o.maxUnique) return { code: "ARGUMENT_TOO_LARGE", text: "Unique value too large", count: "unique_too_large" };
  let runAt = 0;
  if (kind.epoch) {
    const epoch = packet.arg(2);
    if (!/^\s*-?\d{1,15}\s*$/.test(epoch)) {
      return { code: "INVALID_ARGUMENT", text: "Epoch must be a Unix time in seconds", count: "invalid_epoch" };
    }
    const seconds = Number(epoch);
    if (seconds * 1000 > now + o.maxEpochAheadMs) {
      return { code: "INVALID_ARGUMENT", text: "Epoch too far in the future", count: "invalid_epoch" };
    }
    runAt = seconds * 1000 > now ? seconds * 1000 : 0;
  }
  const reducer = kind.reduce ? packet.arg(2) : "";
  if (reducer.length > o.maxFunctionName) return { code: "ARGUMENT_TOO_LARGE", text: "Reducer name too large", count: "reducer_too_large" };
  fn ??= server.fn(name, true);
  if (!fn) return { code: "QUEUE_ERROR", text: "Too many functions", count: "function_table_full" };
  const key = uniqueKeyOf(unique, unique === "-" ? packet.data! : NO_DATA); // only "-" reads the workload
  if (key === undefined || !server.uniques.get(fn, key)) {
    const limit = fn.maxQueue[kind.priority]!;
    if (limit > 0 && fn.total >= limit) return { code: "QUEUE_ERROR", text: "Job queue is full", count: "queue_full" };
  }
  if (into === undefined) return { fn, unique, key, packet, reducer, runAt, kind };
  into.fn = fn;
  into.unique = unique;
  into.key = key;
  into.packet = packet;
  into.reducer = reducer;
  into.runAt = runAt;
  into.kind = kind;
  return into;
}

/** The live job a submission coalesces with, if any. */
export function coalesced(server: Pick<CoreContext, "uniques">, sub: Submission): Job | undefined {
  return sub.key === undefined ? undefined : server.uniques.get(sub.fn, sub.key);
}

/** Makes the job of a checked submission (state `persisting`; the caller persists or schedules it). */
export function createJob(server: Pick<CoreContext, "nextId" | "newJob" | "options" | "submitted">, sub: Submission, now: number): Job {
  // A job keeps its own copy unless the decoder already made one: a view of
  // the read chunk would pin the whole chunk. A background job bound for a
  // store that reads payloads back keeps the view only until the commit,
  // which copies it if the job holds on to its workload (most leave it). A
  // small foreground workload is copied into the workload pool instead.
  const id = server.nextId();
  const p = sub.packet;
  const slot = sub.kind.background || p.dataAt < 0 ? -1 : sub.fn.home.workloads.store(p.body, p.dataAt, p.end);
  const data = slot >= 0 ? slot : p.owned || (sub.kind.background && server.options.storeReadsPayloads) ? p.data! : p.copyData();
  const job = server.newJob(sub.fn, id, undefined, sub.key, data, sub.kind.priority, sub.kind.background, now);
  if (sub.reducer !== "") job.reducer = sub.reducer;
  job.runAt = sub.runAt;
  server.submitted++;
  metricsOf(sub.fn).submitted[!sub.kind.background ? "foreground" : sub.runAt > 0 ? "scheduled" : "background"]++;
  return job;
}

function submit(server: CoreContext, peer: Peer, sub: Submission, now: number): void {
  const existing = coalesced(server, sub);
  if (existing) {
    server.count("coalesced");
    if (!sub.kind.background) server.addListener(existing, peer);
    if (existing.state === "persisting") server.awaitAck(existing, peer);
    else server.sendHandlePacket(peer, Cmd.JOB_CREATED, existing.prefix, existing.id);
    return;
  }
  const job = createJob(server, sub, now);
  if (sub.kind.background) {
    server.persist(job, peer);
    return;
  }
  job.runAt = 0;
  server.addListener(job, peer);
  server.sendHandlePacket(peer, Cmd.JOB_CREATED, job.prefix, job.id);
  server.schedule(job, now);
}

const getStatus: PacketHandler = (server, peer, packet) => {
  const handle = packet.args[0]!;
  const job = server.job(handle);
  if (!job) return server.sendPacket(peer, Cmd.STATUS_RES, [handle, "0", "0", "0", "0"]);
  const running = job.state === "running" ? "1" : "0";
  server.sendPacket(peer, Cmd.STATUS_RES, [handle, "1", running, job.numerator, job.denominator]);
};

const getStatusUnique: PacketHandler = (server, peer, packet) => {
  const unique = packet.args[0]!;
  const job = unique !== "" && unique.length <= server.options.maxUnique ? server.uniques.any(unique) : undefined;
  if (job) {
    const running = job.state === "running" ? "1" : "0";
    const waiting = String(job.listenerCount);
    return server.sendPacket(peer, Cmd.STATUS_RES_UNIQUE, [unique, "1", running, job.numerator, job.denominator, waiting]);
  }
  server.sendPacket(peer, Cmd.STATUS_RES_UNIQUE, [unique, "0", "0", "0", "0", "0"]);
};

const optionReq: PacketHandler = (server, peer, packet) => {
  const option = packet.args[0]!;
  if (option.toLowerCase() === "exceptions") {
    peer.exceptions = true;
    return server.sendPacket(peer, Cmd.OPTION_RES, [option]);
  }
  if (option.toLowerCase() === "reliable") {
    peer.reliable = true;
    return server.sendPacket(peer, Cmd.OPTION_RES, [option]);
  }
  server.count("unknown_option");
  server.error(peer, "UNKNOWN_OPTION", "Server does not recognize given option");
};

const echoReq: PacketHandler = (server, peer, packet) => {
  server.sendPacket(peer, Cmd.ECHO_RES, [], packet.data);
};

const setClientId: PacketHandler = (server, peer, packet) => {
  peer.clientId = sanitizeClientId(packet.args[0]!, server.options.maxClientId);
};

/** The background SUBMIT_* types by code: what WORK_REPLACE may carry. */
export const BACKGROUND_SUBMITS: Readonly<Record<number, SubmitKind>> = {
  [Cmd.SUBMIT_JOB_BG]: { priority: Priority.Normal, background: true },
  [Cmd.SUBMIT_JOB_HIGH_BG]: { priority: Priority.High, background: true },
  [Cmd.SUBMIT_JOB_LOW_BG]: { priority: Priority.Low, background: true },
  [Cmd.SUBMIT_JOB_EPOCH]: { priority: Priority.Normal, background: true, epoch: true },
};

/** Client-side packet handlers by code. */
export const CLIENT_HANDLERS: Record<number, PacketHandler> = {
  [Cmd.SUBMIT_JOB]: submitHandler({ priority: Priority.Normal, background: false }),
  [Cmd.SUBMIT_JOB_BG]: submitHandler({ priority: Priority.Normal, background: true }),
  [Cmd.SUBMIT_JOB_HIGH]: submitHandler({ priority: Priority.High, background: false }),
  [Cmd.SUBMIT_JOB_HIGH_BG]: submitHandler({ priority: Priority.High, background: true }),
  [Cmd.SUBMIT_JOB_LOW]: submitHandler({ priority: Priority.Low, background: false }),
  [Cmd.SUBMIT_JOB_LOW_BG]: submitHandler({ priority: Priority.Low, background: true }),
  [Cmd.SUBMIT_JOB_EPOCH]: submitHandler({ priority: Priority.Normal, background: true, epoch: true }),
  [Cmd.SUBMIT_REDUCE_JOB]: submitHandler({ priority: Priority.Normal, background: false, reduce: true }),
  [Cmd.SUBMIT_REDUCE_JOB_BACKGROUND]: submitHandler({ priority: Priority.Normal, background: true, reduce: true }),
  [Cmd.GET_STATUS]: getStatus,
  [Cmd.GET_STATUS_UNIQUE]: getStatusUnique,
  [Cmd.OPTION_REQ]: optionReq,
  [Cmd.ECHO_REQ]: echoReq,
  [Cmd.SET_CLIENT_ID]: setClientId,
};
