/**
 * The admin text protocol on the job port: gearmand 1.1.20's commands with
 * byte-exact replies, Gearman::Server's `shutdown`, `jobs` and `clients`, and
 * gearbox's `counters`, `functions`, `job ...`, `store backup` and `nodes`.
 *
 * @module
 */
import { encodeText } from "../protocol/encoder.ts";
import { adminTokens, errLine, invalidArguments, listReply, OK_CRLF, okValue, unknownCommand } from "../protocol/admin_text.ts";
import type { FunctionRecord } from "./function_record.ts";
import type { CoreContext } from "./core_context.ts";
import { functionNameProblem, listingField } from "./names.ts";
import { cancelLive, jobCommand } from "./job_admin.ts";
import { type BulkTask, HELD } from "./bulk_work.ts";
import type { Job } from "./job.ts";
import type { Peer } from "./peer.ts";
import { adminLineRole, denial } from "./roles.ts";

type AdminHandler = (server: CoreContext, peer: Peer, args: string[], now: number) => string;

/** A file name without a directory part, that cannot be "." or "..". */
const BACKUP_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * A listing built in slices (bulk_work.ts): one row per record, in the
 * exact format of a one-piece `listReply`. Functions are those that existed
 * when it began, in name order; one dropped meanwhile is left out.
 */
function* functionRows(server: CoreContext, row: (f: FunctionRecord) => string): BulkTask {
  for (const f of server.functions.sorted()) yield server.functions.get(f.name) === f ? row(f) : undefined;
  return ".\n";
}

/** Live jobs (not those still being committed), as they are when their row is built. */
function* jobRows(server: CoreContext, row: (j: Job) => string): BulkTask {
  for (const j of server.jobs.values()) yield j.state === "persisting" ? undefined : row(j);
  return ".\n";
}

function listing(server: CoreContext, peer: Peer, task: BulkTask, now: number): string {
  return server.bulk.start(server, peer, task, false, now);
}

function workerAddress(peer: Peer | undefined): string {
  return peer ? `${peer.address}:${peer.port}` : "-";
}

const COMMANDS: Record<string, AdminHandler> = {
  status: (server, peer, _args, now) =>
    listing(server, peer, functionRows(server, (f) => `${f.name}\t${f.total}\t${f.running}\t${f.workers.length}`), now),

  prioritystatus: (server, peer, _args, now) =>
    listing(
      server,
      peer,
      functionRows(server, (f) => {
        const [h, n, l] = f.waitingByPriority();
        return `${f.name}\t${h}\t${n}\t${l}\t${f.workers.length}`;
      }),
      now,
    ),

  workers: (server, peer, _args, now) => listing(server, peer, workerRows(server), now),

  maxqueue: (server, _peer, args) => {
    if (args.length < 1) return invalidArguments("maxqueue");
    const name = args[0]!;
    if (functionNameProblem(name, server.options.maxFunctionName)) return invalidArguments("maxqueue");
    const values = args.slice(1, 4);
    if (values.some((v) => !/^-?\d{1,15}$/.test(v))) return invalidArguments("maxqueue");
    const nums = values.map((v) => Math.max(Number(v), 0));
    const limits: [number, number, number] = nums.length === 0
      ? [0, 0, 0]
      : nums.length < 3
      ? [nums[0]!, nums[0]!, nums[0]!]
      : [nums[0]!, nums[1]!, nums[2]!];
    // Unlike gearmand, an unknown function gets a record so the limit sticks.
    const fn = server.fn(name, true);
    if (!fn) return errLine("QUEUE_ERROR", "Too many functions");
    fn.maxQueue = limits;
    fn.pinned = true; // a setting keeps the record: it is never reclaimed
    return OK_CRLF;
  },

  show: (server, peer, args, now) => {
    const what = args.map((a) => a.toLowerCase()).join(" ");
    if (what === "jobs") return listing(server, peer, jobRows(server, (j) => `${j.handle}\t${j.retries}\t0\t${j.background ? 1 : 0}`), now);
    if (what === "unique jobs") return listing(server, peer, jobRows(server, (j) => listingField(j.unique)), now);
    return errLine("UNKNOWN_SHOW_ARGUMENTS");
  },

  cancel: (server, _peer, args) => {
    if (args.length < 2) return unknownCommand("cancel");
    if (args[0]!.toLowerCase() !== "job") return errLine("UNKNOWN_ERROR");
    const job = server.job(args[1]!);
    if (!job || job.state === "persisting") return errLine("UNKNOWN_JOB");
    cancelLive(server, job);
    return OK_CRLF;
  },

  create: (server, _peer, args) => {
    if (args.length < 2 || args[0]!.toLowerCase() !== "function") return invalidArguments("create");
    if (functionNameProblem(args[1]!, server.options.maxFunctionName)) return invalidArguments("create");
    const fn = server.fn(args[1]!, true);
    if (!fn) return errLine("QUEUE_ERROR", "Too many functions");
    fn.pinned = true; // an operator's function stays until `drop function`: never reclaimed
    return OK_CRLF;
  },

  drop: (server, _peer, args) => {
    if (args.length < 2 || args[0]!.toLowerCase() !== "function") return invalidArguments("drop");
    const fn = server.functions.findIgnoringCase(args[1]!);
    if (!fn) return "ERR function not found\r\n";
    if (fn.workers.length > 0 || fn.running > 0) return "ERR there are still connected workers or executing clients\r\n";
    if (fn.total > 0) return "ERR there are still queued jobs\r\n";
    server.functions.delete(fn.name);
    return OK_CRLF;
  },

  version: (server) => okValue(server.options.version),
  getpid: (server) => okValue(String(server.options.pid)),
  verbose: (server) => okValue(server.options.verbose),

  shutdown: (server, _peer, args) => {
    if (!server.options.adminShutdown) return errLine("PERMISSION_DENIED", "shutdown is disabled on this server");
    const mode = args[0]?.toLowerCase();
    if (mode !== undefined && mode !== "graceful") return errLine("unknown_args", "Unknown arguments to server command");
    server.effect({ kind: "shutdown", graceful: mode === "graceful" });
    return "OK\n";
  },

  jobs: (server, peer, _args, now) =>
    listing(
      server,
      peer,
      jobRows(server, (j) => `${j.fn.name}\t${listingField(j.unique)}\t${workerAddress(j.worker)}\t${j.listenerCount}`),
      now,
    ),

  clients: (server, peer, _args, now) => listing(server, peer, clientRows(server), now),

  job: (server, peer, args, now) => jobCommand(server, peer, args, now),

  // gearbox: `store backup NAME` copies the running store into NAME in the
  // server's backup directory; the reply waits until the copy is done.
  store: (server, peer, args) => {
    if (args[0]?.toLowerCase() !== "backup" || args.length !== 2) return errLine("INVALID_ARGUMENTS", "usage: store backup NAME");
    const name = args[1]!;
    if (!BACKUP_NAME.test(name)) {
      return errLine("INVALID_ARGUMENT", "a backup name is letters, digits, '.', '_' and '-', not starting with '.'");
    }
    server.effect({ kind: "backup", conn: peer.id, name, reply: server.hold(peer) });
    return HELD;
  },

  // gearbox: the cluster's nodes as the store knows them (docs/cluster.md); the reply waits for the store.
  nodes: (server, peer) => {
    server.effect({ kind: "nodes", conn: peer.id, reply: server.hold(peer) });
    return HELD;
  },

  // gearbox: the server's recurring schedules (docs/schedules.md); the edge keeps them and builds the reply.
  schedule: (server, peer, args) => {
    server.effect({ kind: "schedule", conn: peer.id, args, reply: server.hold(peer) });
    return HELD;
  },

  // gearbox: one row per function with what `gearbox top` shows (see README).
  functions: (server, peer, _args, now) => {
    const dead = new Map<string, number>();
    for (const j of server.ended.values()) if (j.ended?.outcome === "failed") dead.set(j.fn.name, (dead.get(j.fn.name) ?? 0) + 1);
    return listing(
      server,
      peer,
      functionRows(server, (f) => {
        const q = f.queue.counts();
        const oldest = Math.min(...[0, 1, 2].map((p) => f.queue.first(p)?.createdAt ?? Infinity));
        const scheduled = f.scheduled[0] + f.scheduled[1] + f.scheduled[2];
        return [
          f.name,
          q[0],
          q[1],
          q[2],
          scheduled,
          f.running,
          f.workers.length,
          f.completed,
          f.failed,
          dead.get(f.name) ?? 0,
          Number.isFinite(oldest) ? oldest : 0,
        ].join("\t");
      }),
      now,
    );
  },

  // Three gauges ride along: jobs created, workload bytes of stored jobs held in memory (see
  // max_payload_memory), and the bytes of the foreground workload pool's pages (workload_pool_memory).
  counters: (server) =>
    listReply(
      [
        ...server.counters,
        ["submitted", server.submitted] as const,
        ["payload_memory_bytes", server.payloadBytes] as const,
        ["workload_pool_bytes", server.workloads.bytes] as const,
      ]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}\t${v}`),
    ),
};

/** One row per connection; a long list of abilities counts as more work. */
function* workerRows(server: CoreContext): BulkTask {
  for (const p of [...server.peers.values()]) {
    for (let k = 256; k < p.abilities.length; k += 256) yield undefined;
    yield p.closed ? undefined : `${p.id} ${p.address} ${p.clientId} :${p.abilities.map((a) => " " + a.fn.name).join("")}`;
  }
  return ".\n";
}

function* clientRows(server: CoreContext): BulkTask {
  for (const p of [...server.peers.values()]) {
    if (p.closed) continue;
    yield `${p.address}:${p.port}`;
    for (const j of [...p.listening]) yield `\t${j.fn.name}\t${listingField(j.unique)}\t${workerAddress(j.worker)}`;
  }
  return ".\n";
}

/** Answers one admin text line, once the connection's roles allow it (roles.ts). */
export function handleAdminLine(server: CoreContext, peer: Peer, line: string, now: number): void {
  const tokens = adminTokens(line);
  const word = tokens[0]!;
  const need = adminLineRole(word, tokens.slice(1));
  if ((peer.roles & need) !== need) {
    server.count("permission_denied");
    server.send(peer, encodeText(errLine("PERMISSION_DENIED", denial(tokens.slice(0, 2).join(" ").slice(0, 64), need, peer))));
    return;
  }
  const handler = Object.hasOwn(COMMANDS, word.toLowerCase()) ? COMMANDS[word.toLowerCase()] : undefined;
  server.count("admin_commands");
  const reply = handler ? handler(server, peer, tokens.slice(1), now) : unknownCommand(word);
  if (reply !== HELD) server.send(peer, encodeText(reply));
}
