/**
 * Handlers for what clients send: submissions, status queries, options,
 * echo and client ids. They translate packets into calls on the server.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import type { Packet } from "../protocol/decoder.ts";
import { Priority, uniqueKeyOf } from "./job.ts";
import type { JobServer, PacketHandler } from "./job_server.ts";
import { functionNameProblem, sanitizeClientId } from "./names.ts";
import type { Peer } from "./peer.ts";

interface SubmitKind {
  priority: Priority;
  background: boolean;
  epoch?: boolean;
  reduce?: boolean;
}

function submitHandler(kind: SubmitKind): PacketHandler {
  return (server, peer, packet, now) => submit(server, peer, packet, now, kind);
}

function submit(server: JobServer, peer: Peer, packet: Packet, now: number, kind: SubmitKind): void {
  const [name, unique] = packet.args as [string, string];
  const data = packet.data!;
  const o = server.options;
  let fn = server.functions.get(name);
  if (!fn) {
    const bad = functionNameProblem(name, o.maxFunctionName);
    if (bad) {
      server.count("invalid_function_name");
      return server.error(peer, bad.code, bad.text);
    }
  }
  if (unique.length > o.maxUnique) {
    server.count("unique_too_large");
    return server.error(peer, "ARGUMENT_TOO_LARGE", "Unique value too large");
  }
  let runAt = 0;
  if (kind.epoch) {
    const epoch = packet.args[2]!;
    if (!/^\s*-?\d{1,15}\s*$/.test(epoch)) {
      server.count("invalid_epoch");
      return server.error(peer, "INVALID_ARGUMENT", "Epoch must be a Unix time in seconds");
    }
    const seconds = Number(epoch);
    if (seconds * 1000 > now + o.maxEpochAhead * 1000) {
      server.count("invalid_epoch");
      return server.error(peer, "INVALID_ARGUMENT", "Epoch too far in the future");
    }
    runAt = seconds * 1000 > now ? seconds * 1000 : 0;
  }
  const reducer = kind.reduce ? packet.args[2]! : "";
  if (reducer.length > o.maxFunctionName) return server.error(peer, "ARGUMENT_TOO_LARGE", "Reducer name too large");

  fn ??= server.fn(name, true);
  if (!fn) {
    server.count("function_table_full");
    return server.error(peer, "QUEUE_ERROR", "Too many functions");
  }
  const key = uniqueKeyOf(unique, data);
  const existing = key === undefined ? undefined : server.uniques.get(fn, key);
  if (existing) {
    server.count("coalesced");
    if (!kind.background) {
      server.addListener(existing, peer);
    }
    if (existing.state === "persisting") server.awaitAck(existing, peer);
    else server.sendPacket(peer, Cmd.JOB_CREATED, [existing.handle]);
    return;
  }
  const limit = fn.maxQueue[kind.priority]!;
  if (limit > 0 && fn.total >= limit) {
    server.count("queue_full");
    return server.error(peer, "QUEUE_ERROR", "Job queue is full");
  }
  // A job keeps its own copy unless the decoder already made one: a view of
  // the read chunk would pin the whole chunk.
  const id = server.nextId();
  const job = server.newJob(fn, id, server.handleFor(id), unique, packet.owned ? data : data.slice(), reducer, kind.priority, kind.background, now, key);
  server.submitted++;
  if (kind.background) {
    job.runAt = runAt;
    server.persist(job, peer);
    return;
  }
  server.addListener(job, peer);
  server.sendPacket(peer, Cmd.JOB_CREATED, [job.handle]);
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
    const waiting = String(job.listeners.length);
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
  server.count("unknown_option");
  server.error(peer, "UNKNOWN_OPTION", "Server does not recognize given option");
};

const echoReq: PacketHandler = (server, peer, packet) => {
  server.sendPacket(peer, Cmd.ECHO_RES, [], packet.data);
};

const setClientId: PacketHandler = (server, peer, packet) => {
  peer.clientId = sanitizeClientId(packet.args[0]!, server.options.maxClientId);
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
