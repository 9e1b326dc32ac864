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
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { encodePacket } from "../protocol/encoder.ts";
import { errLine, listReply, okValue } from "../protocol/admin_text.ts";
import { type Job, PRIORITY_NAMES } from "./job.ts";
import type { JobServer } from "./job_server.ts";
import { listingField } from "./names.ts";

const STATES = new Set(["queued", "scheduled", "running", "failed", "completed", "all"]);
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100_000;

/** A job's state as operators see it. */
export function jobState(job: Job): string {
  if (job.ended) return job.ended.outcome;
  return job.state === "persisting" ? "queued" : job.state;
}

/** Answers `job ...`. */
export function jobCommand(server: JobServer, args: string[], now: number): string {
  const [verb, ...rest] = args;
  switch (verb?.toLowerCase()) {
    case "list":
      return list(server, rest);
    case "show":
      return show(server, rest);
    case "retry":
      return retry(server, rest, now);
    case "cancel":
      return cancel(server, rest);
    case "purge":
      return purge(server, rest);
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
    if (!allowed.includes(key)) return errLine("INVALID_ARGUMENTS", `unknown option ${a.slice(0, 64)} (expected ${allowed.map((k) => k + "=").join(", ")})`);
    out[key] = a.slice(eq + 1);
  }
  return out;
}

function* allJobs(server: JobServer): Generator<Job> {
  yield* server.jobs.values();
  yield* server.ended.values();
}

function list(server: JobServer, args: string[]): string {
  const o = options(args, ["state", "function", "limit"]);
  if (typeof o === "string") return o;
  const state = (o.state ?? "all").toLowerCase();
  if (!STATES.has(state)) return errLine("INVALID_ARGUMENTS", `state must be one of ${[...STATES].join(", ")}`);
  const limit = o.limit === undefined ? DEFAULT_LIMIT : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return errLine("INVALID_ARGUMENTS", `limit must be 1..${MAX_LIMIT}`);
  const rows: string[] = [];
  for (const j of allJobs(server)) {
    if (rows.length >= limit) break;
    if (o.function !== undefined && j.fn.name !== o.function) continue;
    const s = jobState(j);
    if (state !== "all" && s !== state) continue;
    rows.push([j.handle, j.fn.name, s, PRIORITY_NAMES[j.priority], j.retries, j.runAt, j.createdAt, listingField(j.unique)].join("\t"));
  }
  return listReply(rows);
}

function findJob(server: JobServer, handle: string | undefined): Job | undefined {
  if (handle === undefined) return undefined;
  const live = server.job(handle);
  if (live) return live;
  const id = Number(handle.slice(handle.lastIndexOf(":") + 1));
  const ended = Number.isInteger(id) ? server.ended.get(id) : undefined;
  return ended?.handle === handle ? ended : undefined;
}

/** The workload's size, read back from the store when only the store holds it ("-" if it cannot say). */
function payloadSize(server: JobServer, job: Job): number | string {
  if (job.data !== undefined) return job.data.byteLength;
  try {
    return server.options.payloads?.payload(job.id)?.byteLength ?? "-";
  } catch {
    return "-";
  }
}

function show(server: JobServer, args: string[]): string {
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
    ["waiting_clients", job.listeners.length],
    ["data_bytes", payloadSize(server, job)],
    ["exit_status", e ? e.exitStatus : "-"],
    ["ended_at", e ? e.at : 0],
    ["delete_after", e ? e.deleteAfter : 0],
  ];
  const lines = rows.map(([k, v]) => `${k}\t${v}`);
  for (const f of job.failures) lines.push(`failure\t${f.at}\t${listingField(f.message)}`);
  return listReply(lines);
}

function retry(server: JobServer, args: string[], now: number): string {
  if (args[0]?.toLowerCase() === "all") {
    const o = options(args.slice(1), ["function"]);
    if (typeof o === "string") return o;
    const failed = [...server.ended.values()].filter((j) => j.ended!.outcome === "failed" && (o.function === undefined || j.fn.name === o.function));
    let n = 0;
    for (const j of failed) if (server.revive(j, now) === undefined) n++;
    server.count("retried_by_operator", n);
    return okValue(String(n));
  }
  const job = findJob(server, args[0]);
  if (!job) return errLine("UNKNOWN_JOB");
  if (job.ended?.outcome !== "failed") return errLine("NOT_FAILED", "only failed jobs can be retried");
  const problem = server.revive(job, now);
  if (problem) return errLine("CANNOT_RETRY", problem);
  server.count("retried_by_operator");
  return okValue("1");
}

function cancel(server: JobServer, args: string[]): string {
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
export function cancelLive(server: JobServer, job: Job): void {
  server.count("cancelled");
  job.worker?.swallowLater(job.handle);
  const fail = encodePacket(Cmd.WORK_FAIL, [job.handle]);
  for (const l of job.listeners) server.send(l, fail);
  server.finish(job);
}

function purge(server: JobServer, args: string[]): string {
  const [name, ...rest] = args;
  if (name === undefined) return errLine("INVALID_ARGUMENTS", "usage: job purge FUNCTION [state=queued|failed]");
  const o = options(rest, ["state"]);
  if (typeof o === "string") return o;
  const state = (o.state ?? "queued").toLowerCase();
  const fn = server.functions.get(name);
  if (!fn) return okValue("0");
  let n = 0;
  if (state === "failed") {
    for (const j of [...server.ended.values()]) {
      if (j.fn === fn && j.ended!.outcome === "failed" && server.forgetEnded(j)) n++;
    }
  } else if (state === "queued") {
    for (const j of [...server.jobs.values()]) {
      if (j.fn === fn && (j.state === "queued" || j.state === "scheduled")) {
        cancelLive(server, j);
        n++;
      }
    }
  } else {
    return errLine("INVALID_ARGUMENTS", "state must be queued or failed");
  }
  server.count("purged", n);
  return okValue(String(n));
}
