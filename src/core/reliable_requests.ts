/**
 * gearbox's reliable-queue extension: what TheSchwartz lets a worker say and
 * plain Gearman cannot. A worker switches it on with OPTION_REQ "reliable";
 * for any other connection these packet types do not exist (ERROR
 * INVALID_COMMAND, as for any unknown type), so standard clients never see
 * them. The wire format is in README ("Protocol extension").
 *
 * - WORK_DECLINE handle, run_after: not now; back to the queue at run_after
 *   (Unix seconds, 0 = now), not counted as a failure.
 * - WORK_PERMANENT_FAIL handle, exit_status, message: failed for good, no retry.
 * - WORK_FAIL_EXIT handle, exit_status, message: a failure like WORK_EXCEPTION
 *   (retried by the job's policy) that keeps the worker's exit status if it
 *   is the last (TheSchwartz's `failed($msg, $exit_status)`).
 * - WORK_REPLACE handle, packets: ends the job and creates the background
 *   jobs encoded in the payload in one store transaction; answered with
 *   WORK_REPLACED handle, new handles (space-separated) after the commit.
 * - GRAB_JOB_COALESCE prefix: the next queued job of the worker's functions
 *   whose unique starts with prefix (TheSchwartz's coalesce value).
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { Decoder } from "../protocol/decoder.ts";
import { BACKGROUND_SUBMITS, checkSubmission, coalesced, createJob, type Submission } from "./client_requests.ts";
import { declineJob, failureText, jobFailed } from "./job_endings.ts";
import type { Job } from "./job.ts";
import type { CoreContext, PacketHandler } from "./core_context.ts";
import type { Peer } from "./peer.ts";
import { assignAndSend, ownedJob } from "./worker_requests.ts";

/** Jobs one WORK_REPLACE may create. */
const MAX_REPLACEMENTS = 1000;

/** The handler runs only for connections that switched the extension on. */
function extension(handler: PacketHandler): PacketHandler {
  return (server, peer, packet, now) => {
    if (peer.reliable) return handler(server, peer, packet, now);
    server.count("invalid_command");
    server.error(peer, "INVALID_COMMAND", "Command not expected");
  };
}

const workDecline: PacketHandler = (server, peer, packet, now) => {
  const job = ownedJob(server, peer, packet);
  if (!job) return;
  const at = packet.args[1]!.trim();
  if (!/^\d{1,15}$/.test(at || "0")) return server.error(peer, "INVALID_ARGUMENT", "run_after must be a Unix time in seconds");
  const seconds = Number(at || "0");
  if (seconds * 1000 > now + server.options.maxEpochAheadMs) {
    return server.error(peer, "INVALID_ARGUMENT", "run_after too far in the future");
  }
  declineJob(server, job, now, seconds * 1000);
};

/** WORK_PERMANENT_FAIL and WORK_FAIL_EXIT: a failure with the worker's exit status and message. */
function failureWithExit(permanent: boolean): PacketHandler {
  return (server, peer, packet, now) => {
    const job = ownedJob(server, peer, packet);
    if (!job) return;
    const status = packet.args[1]!.trim();
    if (!/^\d{1,9}$/.test(status) || Number(status) === 0) {
      return server.error(peer, "INVALID_ARGUMENT", "exit_status must be an integer from 1");
    }
    const data = packet.data ?? new Uint8Array(0);
    peer.swallowLater(job.handle);
    const reason = permanent ? "permanent" : "failed";
    jobFailed(server, job, now, { message: failureText(data), exitStatus: Number(status), permanent, exception: data.slice(), reason });
  };
}

const workReplace: PacketHandler = (server, peer, packet, now) => {
  const job = ownedJob(server, peer, packet);
  if (!job) return;
  const subs = replacements(server, packet.data ?? new Uint8Array(0), now);
  if (!Array.isArray(subs)) return server.error(peer, subs.code, subs.text);
  const handles: string[] = [];
  const created: Job[] = [];
  for (const sub of subs) {
    const existing = coalesced(server, sub);
    if (existing) {
      server.count("coalesced");
      handles.push(existing.handle);
      continue;
    }
    const j = createJob(server, sub, now);
    handles.push(j.handle);
    created.push(j);
  }
  server.replace(job, created, handles, peer);
};

/** Decodes and checks every submission of a WORK_REPLACE before anything changes. */
function replacements(server: CoreContext, payload: Uint8Array, now: number): Submission[] | { code: string; text: string } {
  const decoder = new Decoder({ expect: "REQ", text: false, maxPacketBody: payload.length });
  const frames = decoder.push(payload);
  if (decoder.pendingBytes > 0) return { code: "INVALID_PACKET", text: "WORK_REPLACE ends inside a packet" };
  if (frames.length > MAX_REPLACEMENTS) {
    return { code: "ARGUMENT_TOO_LARGE", text: `WORK_REPLACE carries more than ${MAX_REPLACEMENTS} jobs` };
  }
  const subs: Submission[] = [];
  const made: Submission["fn"][] = [];
  for (const f of frames) {
    const kind = f.kind === "packet" ? BACKGROUND_SUBMITS[f.code] : undefined;
    if (f.kind !== "packet" || !kind) {
      return unmade(server, made, { code: "INVALID_ARGUMENT", text: "WORK_REPLACE carries background SUBMIT packets only" });
    }
    const known = server.functions.has(f.args[0]!);
    const sub = checkSubmission(server, f, now, kind); // its data views the WORK_REPLACE payload: not owned
    if ("code" in sub) return unmade(server, made, sub);
    if (!known) made.push(sub.fn);
    subs.push(sub);
  }
  return subs;
}

/** A refused WORK_REPLACE makes nothing: the records its earlier submissions made go again. */
function unmade<T>(server: CoreContext, made: readonly Submission["fn"][], refusal: T): T {
  for (const fn of made) if (fn.idle && server.functions.get(fn.name) === fn) server.functions.delete(fn.name);
  return refusal;
}

const grabJobCoalesce: PacketHandler = (server, peer, packet, now) => {
  const prefix = packet.args[0]!;
  peer.sleeping = false;
  peer.noopSent = false;
  if (prefix === "") return server.error(peer, "INVALID_ARGUMENT", "GRAB_JOB_COALESCE needs a prefix");
  const job = findCoalescing(peer, prefix);
  if (!job) return server.sendNoJob(peer);
  assignAndSend(server, peer, job, "uniq", now);
};

/** The first queued job, by priority then registration order, whose unique starts with `prefix`. */
function findCoalescing(peer: Peer, prefix: string): Job | undefined {
  for (let p = 0; p < 3; p++) {
    for (const a of peer.abilities) {
      for (const job of a.fn.queue.list(p)) if (job.unique.startsWith(prefix)) return job;
    }
  }
  return undefined;
}

/** Extension packet handlers by code. */
export const RELIABLE_HANDLERS: Record<number, PacketHandler> = {
  [Cmd.WORK_DECLINE]: extension(workDecline),
  [Cmd.WORK_PERMANENT_FAIL]: extension(failureWithExit(true)),
  [Cmd.WORK_FAIL_EXIT]: extension(failureWithExit(false)),
  [Cmd.WORK_REPLACE]: extension(workReplace),
  [Cmd.GRAB_JOB_COALESCE]: extension(grabJobCoalesce),
};
