/**
 * The Gearman client: submits jobs to one or more servers and follows them
 * to the end, after python-gearman's GearmanClient. Requests spread over the
 * servers (by unique when given) and fail over on connection errors, up to
 * `maxConnectionAttempts` per request; a foreground job whose server dies
 * before it ends is submitted again elsewhere.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import type { Packet } from "../protocol/decoder.ts";
import { ClientError } from "./client_error.ts";
import { type DataEncoder, textEncoder } from "./data_encoder.ts";
import { JobRequest, type JobStatus, type Priority } from "./job_request.ts";
import { type GearmanConnectionOptions, PacketConnection, serverError } from "./packet_connection.ts";
import { parseServers, type ServerAddress, ServerList } from "./server_list.ts";
import { applyTls, resolveTls } from "./tls_options.ts";
import { epochSeconds, submitPacket, wireText } from "./submit_packet.ts";

/** Options for {@link Client}. */
export interface ClientOptions<T> extends GearmanConnectionOptions<T> {
  /** Default for requests: servers tried before a request fails (default 3). */
  maxConnectionAttempts?: number;
}

/** Options of one submission. */
export interface SubmitOptions {
  /** Jobs with the same function and unique are coalesced by the server. */
  unique?: string;
  priority?: Priority;
  background?: boolean;
  /** Resolve after the job ended (default) or once the server accepted it. */
  waitUntilComplete?: boolean;
  /** Give up waiting after this long; the request gets `timedOut`. */
  timeoutMs?: number;
  maxConnectionAttempts?: number;
  /** Run no earlier than this (SUBMIT_JOB_EPOCH; implies background). */
  runAt?: Date | number;
}

/** One job of {@link Client.submitMultipleJobs}. */
export interface JobSpec<T> extends Omit<SubmitOptions, "waitUntilComplete" | "timeoutMs"> {
  function: string;
  data: T;
}

interface Link {
  readonly conn: PacketConnection;
  /** Foreground requests waiting for WORK_* packets, by handle (several when coalesced). */
  readonly byHandle: Map<string, JobRequest<unknown>[]>;
}

/**
 * Submits jobs and follows them.
 *
 * @example
 * ```ts
 * import { Client } from "./mod.ts";
 * const client = new Client({ servers: ["127.0.0.1:4730"] });
 * const req = await client.submitJob("reverse", "hello");
 * console.log(req.state, req.result); // COMPLETE olleh
 * client.close();
 * ```
 */
export class Client<T = string> {
  readonly #servers: ServerList;
  readonly #encoder: DataEncoder<T>;
  readonly #options: ClientOptions<T>;
  readonly #links = new Map<string, Promise<Link>>();
  readonly #linkOf = new WeakMap<JobRequest<unknown>, Link>();
  #closed = false;

  constructor(options: ClientOptions<T> = {}) {
    this.#servers = new ServerList(applyTls(parseServers(options.servers), resolveTls(options.tls)));
    this.#encoder = options.encoder ?? (textEncoder as unknown as DataEncoder<T>);
    this.#options = options;
  }

  /** The servers this client uses, as `host:port`. */
  get servers(): string[] {
    return this.#servers.servers.map((s) => s.key);
  }

  /**
   * Submits one job. Resolves with its request once it ended (or, with
   * `waitUntilComplete: false`, once a server accepted it). A job that fails
   * resolves too, with state `FAILED`; rejects with `UNREACHABLE` only when
   * no server could be reached within `maxConnectionAttempts`.
   */
  async submitJob(fn: string, data: T, options: SubmitOptions = {}): Promise<JobRequest<T>> {
    const [req] = await this.submitMultipleJobs([{ ...options, function: fn, data }], options);
    if (req!.error?.code === "UNREACHABLE") throw req!.error;
    return req!;
  }

  /**
   * Submits several jobs at once (pipelined per server) and resolves with
   * their requests in the same order; none rejects, each request says how it
   * went (`state`, `error`, `timedOut`).
   */
  async submitMultipleJobs(
    jobs: readonly JobSpec<T>[],
    options: { waitUntilComplete?: boolean; timeoutMs?: number } = {},
  ): Promise<JobRequest<T>[]> {
    if (this.#closed) throw new ClientError("INVALID_STATE", "the client is closed");
    const requests = jobs.map((job) => this.#request(job));
    for (const req of requests) {
      if (options.timeoutMs !== undefined) this.#arm(req, options.timeoutMs);
      void this.#dispatch(req, []);
    }
    const wait = options.waitUntilComplete ?? true;
    return await Promise.all(requests.map((r) => wait ? r.done : r.accepted));
  }

  /** Asks the server that holds the job for its status (GET_STATUS) and records it on the request. */
  async getJobStatus(request: JobRequest<T>): Promise<JobStatus> {
    if (request.handle === undefined || request.server === undefined) {
      throw new ClientError("INVALID_STATE", "the job has no handle yet");
    }
    const server = this.#servers.servers.find((s) => s.key === request.server)!;
    const link = await this.#link(server);
    const reply = await link.conn.request(Cmd.GET_STATUS, [request.handle]);
    if (reply.code === Cmd.ERROR) throw serverError(reply, server);
    const [handle = "", known, running, numerator, denominator] = reply.args;
    request.status = {
      handle,
      known: known === "1",
      running: running === "1",
      numerator: Number(numerator),
      denominator: Number(denominator),
      timeReceived: Date.now(),
    };
    return request.status;
  }

  /** Closes every connection; requests still waiting end as `FAILED` with `INVALID_STATE`. */
  close(): void {
    this.#closed = true;
    const links = [...this.#links.values()];
    this.#links.clear();
    for (const p of links) {
      p.then((link) => {
        for (const reqs of link.byHandle.values()) {
          for (const r of reqs) {
            r.record(
              { type: "failed", exception: undefined, error: new ClientError("INVALID_STATE", "the client was closed") },
              Date.now(),
            );
          }
        }
        link.conn.close();
      }, () => {});
    }
  }

  #request(job: JobSpec<T>): JobRequest<T> {
    const runAt = job.runAt === undefined ? undefined : epochSeconds(job.runAt);
    const background = job.background ?? runAt !== undefined;
    const priority = job.priority ?? "normal";
    submitPacket(job.function, job.unique ?? "", priority, background, runAt); // validates before anything is sent
    const attempts = job.maxConnectionAttempts ?? this.#options.maxConnectionAttempts ?? 3;
    if (!(attempts >= 1)) throw new ClientError("INVALID_ARGUMENT", "maxConnectionAttempts must be at least 1");
    return new JobRequest<T>({
      function: job.function,
      data: this.#encoder.encode(job.data),
      unique: job.unique ?? "",
      priority,
      background,
      runAt,
      maxConnectionAttempts: attempts,
    });
  }

  #arm(req: JobRequest<T>, timeoutMs: number): void {
    const timer = setTimeout(() => {
      req.record({ type: "timeout" }, Date.now());
      this.#forget(req);
    }, timeoutMs);
    void req.done.then(() => clearTimeout(timer));
  }

  /** Sends the request to the next server in its order until one accepts it or attempts run out. */
  async #dispatch(req: JobRequest<T>, tried: string[]): Promise<void> {
    const { code, args } = submitPacket(req.function, req.unique, req.priority, req.background, req.runAt);
    const start = this.#servers.start(req.unique);
    let lastError: Error | undefined;
    while (!req.ended && !this.#closed) {
      if (req.connectionAttempts >= req.maxConnectionAttempts) {
        const why = lastError ? `: ${lastError.message}` : "";
        const error = new ClientError(
          "UNREACHABLE",
          `no server accepted the job after ${req.connectionAttempts} connection attempts${why}`,
        );
        req.record({ type: "failed", exception: undefined, error }, Date.now());
        return;
      }
      const server = this.#servers.pick(start, tried, Date.now());
      tried.push(server.key);
      req.connectionAttempts++;
      req.state = "PENDING";
      let link: Link;
      try {
        link = await this.#link(server);
      } catch (e) {
        lastError = e as Error;
        this.#servers.markDown(server, Date.now());
        continue;
      }
      try {
        // The reply is handled synchronously (see PacketConnection.request):
        // the job's WORK_* packets may follow JOB_CREATED in the same read.
        await link.conn.request(code, args, req.data, (reply) => this.#answered(req, link, server, reply));
      } catch (e) {
        lastError = e as Error;
        continue;
      }
      return;
    }
  }

  /** The server answered a submission: the job is registered for its WORK_* packets before they can arrive. */
  #answered(req: JobRequest<T>, link: Link, server: ServerAddress, reply: Packet): void {
    if (req.ended) return;
    if (reply.code === Cmd.ERROR) {
      req.record({ type: "failed", exception: undefined, error: serverError(reply, server) }, Date.now());
      return;
    }
    const handle = reply.args[0]!;
    req.server = server.key;
    if (!req.background) {
      const list = link.byHandle.get(handle);
      if (list) list.push(req as JobRequest<unknown>);
      else link.byHandle.set(handle, [req as JobRequest<unknown>]);
      this.#linkOf.set(req as JobRequest<unknown>, link);
    }
    req.record({ type: "created", handle }, Date.now());
  }

  #forget(req: JobRequest<T>): void {
    const link = this.#linkOf.get(req as JobRequest<unknown>);
    if (!link || req.handle === undefined) return;
    const list = link.byHandle.get(req.handle)?.filter((r) => r !== req);
    if (list && list.length > 0) link.byHandle.set(req.handle, list);
    else link.byHandle.delete(req.handle);
  }

  #link(server: ServerAddress): Promise<Link> {
    let p = this.#links.get(server.key);
    if (p === undefined) {
      p = this.#open(server);
      this.#links.set(server.key, p);
      p.catch(() => this.#links.delete(server.key));
    }
    return p;
  }

  async #open(server: ServerAddress): Promise<Link> {
    const byHandle = new Map<string, JobRequest<unknown>[]>();
    const conn = await PacketConnection.open(server, {
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 5000,
      maxPacketBody: this.#options.maxPacketBody,
      replyTimeoutMs: this.#options.replyTimeoutMs,
      onPacket: (packet) => this.#onPacket(byHandle, packet),
      onClose: () => this.#lost(server, byHandle),
    });
    if (this.#options.clientId) conn.send(Cmd.SET_CLIENT_ID, [wireText(this.#options.clientId)]);
    // Without this option servers downgrade WORK_EXCEPTION to WORK_FAIL; a server that refuses it is still usable.
    await conn.request(Cmd.OPTION_REQ, ["exceptions"]);
    this.#servers.markUp(server);
    return { conn, byHandle };
  }

  #lost(server: ServerAddress, byHandle: Map<string, JobRequest<unknown>[]>): void {
    this.#links.delete(server.key);
    if (this.#closed) return;
    this.#servers.markDown(server, Date.now());
    const orphans = [...byHandle.values()].flat();
    byHandle.clear();
    for (const req of orphans) {
      if (req.ended) continue;
      // The job died with its server: submit it again elsewhere, counting the attempt.
      req.handle = undefined;
      req.server = undefined;
      void this.#dispatch(req as JobRequest<T>, [server.key]);
    }
  }

  #onPacket(byHandle: Map<string, JobRequest<unknown>[]>, packet: Packet): void {
    const handle = packet.args[0];
    if (handle === undefined) return;
    const requests = byHandle.get(handle);
    if (!requests) return;
    const now = Date.now();
    const terminal = packet.code === Cmd.WORK_COMPLETE || packet.code === Cmd.WORK_FAIL || packet.code === Cmd.WORK_EXCEPTION;
    if (terminal) byHandle.delete(handle);
    for (const req of requests) {
      try {
        switch (packet.code) {
          case Cmd.WORK_DATA:
            req.record({ type: "data", data: this.#encoder.decode(packet.data!) }, now);
            break;
          case Cmd.WORK_WARNING:
            req.record({ type: "warning", data: this.#encoder.decode(packet.data!) }, now);
            break;
          case Cmd.WORK_STATUS:
            req.record({ type: "status", numerator: Number(packet.args[1]), denominator: Number(packet.args[2]) }, now);
            break;
          case Cmd.WORK_COMPLETE:
            req.record({ type: "complete", result: this.#encoder.decode(packet.data!) }, now);
            break;
          case Cmd.WORK_FAIL:
            req.record({ type: "failed", exception: undefined, error: undefined }, now);
            break;
          case Cmd.WORK_EXCEPTION:
            req.record({ type: "failed", exception: textEncoder.decode(packet.data!), error: undefined }, now);
            break;
        }
      } catch (e) {
        const error = new ClientError("BAD_RESPONSE", `the payload of ${packet.spec.name} does not decode: ${(e as Error).message}`);
        req.record({ type: "failed", exception: undefined, error }, now);
      }
    }
  }
}
