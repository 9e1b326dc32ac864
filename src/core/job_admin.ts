/**
 * The `job` admin command: gearbox's operator view of the reliable queue,
 * behind `gearbox jobs`. Lines, like every admin command:
 *
 * - `job list [state=S] [function=F] [limit=N]`: one row per job,
 *   `HANDLE FUNCTION STATE PRIORITY RETRIES RUN_AT CREATED_AT UNIQUE`
 *   (tab-separated, times in Unix ms, 0 = none), then `.`. S is queued,
 *   scheduled, running, failed, completed or all (the default).
 * - `job show HANDLE`: `key<TAB>value` rows, then one `failure<TAB>AT<TAB>MESSAGE`
 *   row per failure log entry, then `.`.
 * - `job retry HANDLE` or `job retry all [function=F]`: failed jobs go back
 *   to their queue; `OK n`.
 * - `job cancel HANDLE`: a live job is cancelled (its clients get WORK_FAIL),
 *   a kept ended job is forgotten; `OK 1`.
 * - `job purge FUNCTION [state=queued|failed]`: drops the function's waiting
 *   (queued and scheduled) jobs, or its dead set; `OK n`. Running jobs are
 *   never purged: cancel them one by one.
 *
 * `list`, `retry all` and `purge` walk jobs in slices (bulk_work.ts), so a
 * million jobs never block the loop. While a purge runs, jobs keep moving:
 * it visits every job that existed when it began once, in id order, and
 * drops it if it is waiting at that moment. A job a worker took first keeps
 * running; one that came back to the queue is dropped if not yet visited;
 * jobs submitted after the purge began are kept (jobs adopted from a dead
 * cluster node meanwhile are treated as older ones). Each dropped job is counted
 * once in `n`, and its store row is deleted like any cancelled job's.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { encodePacket } from "../protocol/encoder.ts";
import { errLine, listReply, okValue } from "../protocol/admin_text.ts";
import { type Job, PRIORITY_NAMES } from "./job.ts";
import type { CoreContext } from "./core_context.ts";
import { type BulkClock, type BulkTask, HELD } from "./bulk_work.ts";
import type { Peer } from "./peer.ts";
import { listingField } from "./names.ts";

const STATES = new Set(["queued", "scheduled", "running", "failed", "completed", "all"]);
const DEFAULT_LIMIT = 1000;
/** Where `job show` puts a size the store has yet to give (fields escape control bytes, so no other NUL). */
const READ = "\0";
const MAX_LIMIT = 100_000;

/** A job's state as operators see it. */
export function jobState(job: Job): string {
  if (job.ended) return job.ended.outcome;
  return job.state === "persisting" ? "queued" : job.state;
}

/** Answers `job ...`. */
export function jobCommand(server: CoreContext, peer: Peer, args: string[], now: number): string {
  const [verb, ...rest] = args;
  const sliced = (task: BulkTask | string, mutates: boolean) =>
    typeof task === "string" ? task : server.bulk.start(server, peer, task, mutates, now);
  switch (verb?.toLowerCase()) {
    case "list":
      return sliced(list(server, rest), false);
    case "show":
      return show(server, peer, rest);
    case "retry":
      return sliced(retry(server, rest, server.bulk.clock, now), true);
    case "cancel":
      return cancel(server, rest);
    case "purge":
      return sliced(purge(server, rest), true);
    default:
      return errLine("INVALID_ARGUMENTS", "usage: job list|show|retry|cancel|purge ...");
  }
}

/** `key=value` options; undefined (with the reply to send) when one is malformed or unknown. */
function options(args: string[], allowed: string[]): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf("=");
    const key = eq === -1 ? "" : a.slice(0, eq).toLowerCase();
    if (!allowed.includes(key)) {
      return errLine(
        "INVALID_ARGUMENTS",
        `unknown option ${a.slice(0, 64)} (expected ${allowed.map((k) => k + "=").join(", ")})`,
      );
    }
    out[key] = a.slice(eq + 1);
  }
  return out;
}

function* allJobs(server: CoreContext): Generator<Job> {
  yield* server.jobs.values();
  yield* server.ended.values();
}

function list(server: CoreContext, args: string[]): BulkTask | string {
  const o = options(args, ["state", "function", "limit"]);
  if (typeof o === "string") return o;
  const state = (o.state ?? "all").toLowerCase();
  if (!STATES.has(state)) return errLine("INVALID_ARGUMENTS", `state must be one of ${[...STATES].join(", ")}`);
  const limit = o.limit === undefined ? DEFAULT_LIMIT : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return errLine("INVALID_ARGUMENTS", `limit must be 1..${MAX_LIMIT}`);
  return listRows(server, state, o.function, limit);
}

function* listRows(server: CoreContext, state: string, fn: string | undefined, limit: number): BulkTask {
  let rows = 0;
  for (const j of allJobs(server)) {
    if (rows >= limit) break;
    const s = jobState(j);
    if ((fn !== undefined && j.fn.name !== fn) || (state !== "all" && s !== state)) {
      yield undefined;
      continue;
    }
    rows++;
    yield [j.handle, j.fn.name, s, PRIORITY_NAMES[j.priority], j.retries, j.runAt, j.createdAt, listingField(j.unique)].join("\t");
  }
  return ".\n";
}

function findJob(server: CoreContext, handle: string | undefined): Job | undefined {
  if (handle === undefined) return undefined;
  const live = server.job(handle);
  if (live) return live;
  const id = Number(handle.slice(handle.lastIndexOf(":") + 1));
  const ended = Number.isInteger(id) ? server.ended.get(id) : undefined;
  return ended?.handle === handle ? ended : undefined;
}

/**
 * `job show`. A workload left to the store has its size read back: the reply
 * slot is held and the rows around `data_bytes` wait for the answer
 * (payload_reads.ts).
 */
function show(server: CoreContext, peer: Peer, args: string[]): string {
  const job = findJob(server, args[0]);
  if (!job) return errLine("UNKNOWN_JOB");
  const e = job.ended;
  const rows: [string, string | number][] = [
    ["handle", job.handle],
    ["function", job.fn.name],
    ["unique", listingField(job.unique)],
    ["state", jobState(job)],
    ["priority", PRIORITY_NAMES[job.priority]],
    ["background", job.background ? 1 : 0],
    ["retries", job.retries],
    ["run_at", job.runAt],
    ["created_at", job.createdAt],
    ["worker", job.worker ? `${job.worker.address}:${job.worker.port}` : "-"],
    ["grabbed_until", job.state === "running" ? job.grabbedUntil : 0],
    ["waiting_clients", job.listenerCount],
    ["data_bytes", job.dataLength ?? (server.options.storeReadsPayloads ? READ : "-")],
    ["exit_status", e ? e.exitStatus : "-"],
    ["ended_at", e ? e.at : 0],
    ["delete_after", e ? e.deleteAfter : 0],
  ];
  const lines = rows.map(([k, v]) => `${k}\t${v}`);
  for (const f of job.failures) lines.push(`failure\t${f.at}\t${listingField(f.message)}`);
  const reply = listReply(lines);
  if (job.dataLength !== undefined || !server.options.storeReadsPayloads) return reply;
  const at = reply.indexOf(`\ndata_bytes\t${READ}\n`) + "\ndata_bytes\t".length;
  server.readPayload(job.id, {
    kind: "size",
    peer,
    ack: server.hold(peer),
    before: reply.slice(0, at),
    after: reply.slice(at + READ.length),
  });
  return HELD;
}

function retry(server: CoreContext, args: string[], clock: BulkClock, now: number): BulkTask | string {
  if (args[0]?.toLowerCase() === "all") {
    const o = options(args.slice(1), ["function"]);
    if (typeof o === "string") return o;
    return retryAll(server, o.function, clock);
  }
  const job = findJob(server, args[0]);
  if (!job) return errLine("UNKNOWN_JOB");
  if (job.ended?.outcome !== "failed") return errLine("NOT_FAILED", "only failed jobs can be retried");
  const problem = server.revive(job, now);
  if (problem) return errLine("CANNOT_RETRY", problem);
  server.count("retried_by_operator");
  return okValue("1");
}

/** Failed jobs that were in the dead set when it began (revived ones leave it, new ones join at its end). */
function* retryAll(server: CoreContext, fn: string | undefined, clock: BulkClock): BulkTask {
  let left = server.ended.size;
  let n = 0;
  for (const j of server.ended.values()) {
    if (left-- <= 0) break;
    if (j.ended!.outcome === "failed" && (fn === undefined || j.fn.name === fn) && server.revive(j, clock.now) === undefined) n++;
    yield undefined;
  }
  server.count("retried_by_operator", n);
  return okValue(String(n));
}

function cancel(server: CoreContext, args: string[]): string {
  const job = findJob(server, args[0]);
  if (!job) return errLine("UNKNOWN_JOB");
  if (job.ended) {
    server.forgetEnded(job);
    return okValue("1");
  }
  if (job.state === "persisting") return errLine("UNKNOWN_JOB");
  cancelLive(server, job);
  return okValue("1");
}

/** Ends a live job at an operator's request: its clients get WORK_FAIL, its worker's late results are dropped. */
export function cancelLive(server: CoreContext, job: Job): void {
  server.count("cancelled");
  job.worker?.swallowLater(job.handle);
  if (job.listenerCount > 0) {
    const fail = encodePacket(Cmd.WORK_FAIL, [job.handle]);
    for (const l of job.listeners) server.send(l, fail);
  }
  server.finish(job);
}

function purge(server: CoreContext, args: string[]): BulkTask | string {
  const [name, ...rest] = args;
  if (name === undefined) return errLine("INVALID_ARGUMENTS", "usage: job purge FUNCTION [state=queued|failed]");
  const o = options(rest, ["state"]);
  if (typeof o === "string") return o;
  const state = (o.state ?? "queued").toLowerCase();
  if (state !== "failed" && state !== "queued") return errLine("INVALID_ARGUMENTS", "state must be queued or failed");
  if (state === "failed") return purgeFailed(server, name);
  const fn = server.functions.get(name);
  if (!fn) return okValue("0");
  return purgeWaiting(server, fn);
}

/** By name: a failed job's record may have been reclaimed since it ended. */
function* purgeFailed(server: CoreContext, name: string): BulkTask {
  let left = server.ended.size;
  let n = 0;
  for (const j of server.ended.values()) {
    if (left-- <= 0) break;
    if (j.fn.name === name && j.ended!.outcome === "failed" && server.forgetEnded(j)) n++;
    yield undefined;
  }
  server.count("purged", n);
  return okValue(String(n));
}

/** See the module comment for which jobs a purge drops while jobs keep moving. */
function* purgeWaiting(server: CoreContext, fn: Job["fn"]): BulkTask {
  const last = server.lastId;
  let n = 0;
  for (const j of server.jobs.values()) {
    if (j.fn === fn && !server.madeAfter(j.id, last) && (j.state === "queued" || j.state === "scheduled")) {
      cancelLive(server, j);
      n++;
    }
    yield undefined;
  }
  server.count("purged", n);
  return okValue(String(n));
}
