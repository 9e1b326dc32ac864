/**
 * The job a worker's handler receives: what to do, ways to report progress,
 * and, on gearbox, TheSchwartz's ways to end a job other than succeeding or
 * failing (decline, permanent failure, replace with other jobs).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Cmd } from "../protocol/commands.ts";
import { encodePacket } from "../protocol/encoder.ts";
import { ClientError } from "./client_error.ts";
import type { DataEncoder } from "./data_encoder.ts";
import { exitStatusOf } from "./job_failure.ts";
import type { Priority } from "./job_request.ts";
import { type PacketConnection, serverError } from "./packet_connection.ts";
import { epochSeconds, submitPacket } from "./submit_packet.ts";

/** A background job that replaces the current one ({@link WorkerJob.replaceWith}). */
export interface ReplacementJob<T> {
  function: string;
  data: T;
  unique?: string;
  priority?: Priority;
  runAt?: Date | number;
}

/** Where a job came from and how its answers go back; built by the worker. */
export interface WorkerJobContext<T> {
  conn: PacketConnection;
  encoder: DataEncoder<T>;
  /** Whether the server switched gearbox's reliable-queue extension on for this connection. */
  reliable: boolean;
  /** Told about an ERROR the server sent for one of this job's packets. */
  refused: (error: ClientError) => void;
}

/**
 * One assigned job.
 *
 * @example
 * ```ts
 * worker.register("resize", async (job) => {
 *   job.sendStatus(1, 2);
 *   if (busy()) return job.decline(new Date(Date.now() + 60_000)); // gearbox only
 *   return await resize(job.data);
 * });
 * ```
 */
export class WorkerJob<T> {
  readonly handle: string;
  readonly function: string;
  readonly unique: string;
  readonly data: T;
  readonly #ctx: WorkerJobContext<T>;
  #ended = false;
  #failure: { message: string; exitStatus?: number } | undefined;

  constructor(handle: string, fn: string, unique: string, data: T, ctx: WorkerJobContext<T>) {
    this.handle = handle;
    this.function = fn;
    this.unique = unique;
    this.data = data;
    this.#ctx = ctx;
  }

  /** The server that assigned the job, as `host:port`. */
  get server(): string {
    return this.#ctx.conn.server.key;
  }

  /** True when the server speaks gearbox's extension (decline, permanentFailure, replaceWith). */
  get reliable(): boolean {
    return this.#ctx.reliable;
  }

  /** How the job failed, once it did (by `fail`, a throw, or `permanentFailure`). */
  get failure(): { message: string; exitStatus?: number } | undefined {
    return this.#failure;
  }

  /** True once the job's outcome was sent; later calls are refused. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Streams a piece of the result to waiting clients (WORK_DATA). */
  sendData(data: T): void {
    this.#live("sendData");
    this.#ctx.conn.send(Cmd.WORK_DATA, [this.handle], this.#ctx.encoder.encode(data));
  }

  /** Sends a warning to waiting clients (WORK_WARNING). */
  sendWarning(data: T): void {
    this.#live("sendWarning");
    this.#ctx.conn.send(Cmd.WORK_WARNING, [this.handle], this.#ctx.encoder.encode(data));
  }

  /** Reports progress, `numerator` of `denominator` (WORK_STATUS). */
  sendStatus(numerator: number, denominator: number): void {
    this.#live("sendStatus");
    if (!Number.isInteger(numerator) || !Number.isInteger(denominator) || numerator < 0 || denominator < 0) {
      throw new ClientError("INVALID_ARGUMENT", "status numbers must be non-negative integers");
    }
    this.#ctx.conn.send(Cmd.WORK_STATUS, [this.handle, String(numerator), String(denominator)]);
  }

  /** Not now: the job goes back to the queue, to run no earlier than `runAfter`; not counted as a failure. */
  decline(runAfter?: Date | number): void {
    this.#extension("decline");
    const at = runAfter === undefined ? 0 : epochSeconds(runAfter);
    this.#ended = true;
    this.#ctx.conn.sendMaybeRefused(Cmd.WORK_DECLINE, [this.handle, String(at)], undefined, (p) => this.#refused(p));
  }

  /** Fails the job for good, without retries, keeping `exitStatus` (from 1) and the message. */
  permanentFailure(message: string, exitStatus = 1): void {
    this.#extension("permanentFailure");
    if (!Number.isInteger(exitStatus) || exitStatus < 1) throw new ClientError("INVALID_ARGUMENT", "exitStatus must be an integer from 1");
    this.#ended = true;
    this.#failure = { message, exitStatus };
    const payload = Buffer.from(message, "utf8");
    this.#ctx.conn.sendMaybeRefused(Cmd.WORK_PERMANENT_FAIL, [this.handle, String(exitStatus)], payload, (p) => this.#refused(p));
  }

  /**
   * Ends this job and creates `jobs` (background) in one transaction on the
   * server: either all of them exist afterwards and this job is done, or
   * nothing changed. Resolves with the new jobs' handles.
   */
  async replaceWith(jobs: readonly ReplacementJob<T>[]): Promise<string[]> {
    this.#extension("replaceWith");
    const packets = jobs.map((j) => {
      const runAt = j.runAt === undefined ? undefined : epochSeconds(j.runAt);
      const { code, args } = submitPacket(j.function, j.unique ?? "", j.priority ?? "normal", true, runAt);
      return encodePacket(code, args, this.#ctx.encoder.encode(j.data), "REQ");
    });
    this.#ended = true;
    const reply = await this.#ctx.conn.request(Cmd.WORK_REPLACE, [this.handle], Buffer.concat(packets));
    if (reply.code === Cmd.ERROR) {
      this.#ended = false;
      throw serverError(reply, this.#ctx.conn.server);
    }
    const handles = Buffer.from(reply.data ?? new Uint8Array(0)).toString("latin1");
    return handles === "" ? [] : handles.split(" ");
  }

  /** @internal The worker sends the handler's result. */
  complete(result: T | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    const bytes = result === undefined ? new Uint8Array(0) : this.#ctx.encoder.encode(result);
    this.#ctx.conn.send(Cmd.WORK_COMPLETE, [this.handle], bytes);
  }

  /**
   * Fails the job with `message`, keeping `exitStatus` (an integer from 1) if
   * this failure turns out to be the last. On gearbox the server's retry
   * policy decides what happens next (WORK_FAIL_EXIT); other servers cannot
   * keep an exit status and get WORK_EXCEPTION with the message, then
   * WORK_FAIL. Throwing a {@link JobFailure} from the handler does the same.
   */
  fail(message: string, exitStatus = 1): void {
    this.#live("fail");
    if (!Number.isInteger(exitStatus) || exitStatus < 1 || exitStatus > 999_999_999) {
      throw new ClientError("INVALID_ARGUMENT", "exitStatus must be an integer from 1");
    }
    this.#failed(message, exitStatus);
  }

  /** @internal The worker reports a handler's throw (or a workload that does not decode). */
  abort(error: unknown): void {
    if (this.#ended) return;
    this.#failed(error instanceof Error ? error.message : String(error), exitStatusOf(error));
  }

  /**
   * WORK_FAIL_EXIT where the exit status can be kept; otherwise WORK_EXCEPTION
   * with the message, then WORK_FAIL for servers where an exception does not
   * end the job (Gearman::Server); gearmand refuses that WORK_FAIL, gearbox
   * swallows it.
   */
  #failed(message: string, exitStatus: number | undefined): void {
    this.#ended = true;
    this.#failure = exitStatus === undefined ? { message } : { message, exitStatus };
    const payload = Buffer.from(message, "utf8");
    if (exitStatus !== undefined && this.#ctx.reliable) {
      this.#ctx.conn.sendMaybeRefused(Cmd.WORK_FAIL_EXIT, [this.handle, String(exitStatus)], payload, (p) => this.#refused(p));
      return;
    }
    this.#ctx.conn.send(Cmd.WORK_EXCEPTION, [this.handle], payload);
    this.#ctx.conn.sendMaybeRefused(Cmd.WORK_FAIL, [this.handle]);
  }

  #live(what: string): void {
    if (this.#ended) throw new ClientError("INVALID_STATE", `${what}: job ${this.handle} has ended`);
  }

  #extension(what: string): void {
    this.#live(what);
    if (!this.#ctx.reliable) {
      throw new ClientError("UNSUPPORTED", `${what} needs gearbox's reliable-queue extension; ${this.server} does not speak it`);
    }
  }

  #refused(packet: Parameters<typeof serverError>[0]): void {
    this.#ctx.refused(serverError(packet, this.#ctx.conn.server));
  }
}
