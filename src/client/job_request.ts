/**
 * One submitted job as the client sees it, after python-gearman's
 * GearmanJobRequest: its state, the updates the worker sent, and the result.
 *
 * States: `UNKNOWN` (not sent yet) → `PENDING` (sent, no handle yet) →
 * `CREATED` (the server gave a handle) → `COMPLETE` or `FAILED`. A
 * background request is done once `CREATED`. A timeout leaves the state as
 * it was and sets `timedOut`.
 *
 * @module
 */
import type { ClientError } from "./client_error.ts";

/** Where a request is in its life. */
export type JobState = "UNKNOWN" | "PENDING" | "CREATED" | "COMPLETE" | "FAILED";

/** Gearman's three priority levels. */
export type Priority = "high" | "normal" | "low";

/** The last status known for a job (from WORK_STATUS or GET_STATUS). */
export interface JobStatus {
  handle: string;
  /** Whether the server knows the job (false once it ended, or never existed). */
  known: boolean;
  running: boolean;
  numerator: number;
  denominator: number;
  /** When this status arrived, in ms since the epoch. */
  timeReceived: number;
}

/** One thing that happened to a request, in the order it happened. */
export type JobUpdate<T> =
  | { type: "created"; handle: string }
  | { type: "data"; data: T }
  | { type: "warning"; data: T }
  | { type: "status"; numerator: number; denominator: number }
  | { type: "complete"; result: T }
  | { type: "failed"; exception: string | undefined; error: ClientError | undefined }
  | { type: "timeout" };

/** What a request was asked to do. */
export interface JobRequestSpec {
  function: string;
  data: Uint8Array;
  unique: string;
  priority: Priority;
  background: boolean;
  /** Unix time in seconds for SUBMIT_JOB_EPOCH, or undefined. */
  runAt: number | undefined;
  maxConnectionAttempts: number;
}

type Listener<T> = (update: JobUpdate<T>) => void;

/**
 * A submitted job. Await {@link JobRequest.done} for its end, or follow it:
 *
 * @example
 * ```ts
 * const req = await client.submitJob("resize", image, { waitUntilComplete: false });
 * for await (const u of req.updates()) if (u.type === "status") console.log(u.numerator, "/", u.denominator);
 * console.log(req.state, req.result);
 * ```
 */
export class JobRequest<T = string> {
  readonly function: string;
  readonly unique: string;
  readonly data: Uint8Array;
  readonly background: boolean;
  readonly priority: Priority;
  readonly runAt: number | undefined;
  readonly maxConnectionAttempts: number;
  handle: string | undefined;
  state: JobState = "UNKNOWN";
  result: T | undefined;
  /** The worker's exception text (WORK_EXCEPTION), when it sent one. */
  exception: string | undefined;
  /** Why the library gave up on the request (no server reachable, a server ERROR...). */
  error: ClientError | undefined;
  timedOut = false;
  connectionAttempts = 0;
  /** The server that gave the handle, as `host:port`. */
  server: string | undefined;
  readonly dataUpdates: T[] = [];
  readonly warningUpdates: T[] = [];
  status: JobStatus | undefined;

  readonly #listeners = new Set<Listener<T>>();
  readonly #history: JobUpdate<T>[] = [];
  #ended = false;
  #resolveDone!: (r: JobRequest<T>) => void;
  #resolveAccepted!: (r: JobRequest<T>) => void;
  /** Resolves when the request is over: complete, failed, timed out (or created, for background). */
  readonly done: Promise<JobRequest<T>>;
  /** Resolves when the server gave a handle, or the request ended without one. */
  readonly accepted: Promise<JobRequest<T>>;

  constructor(spec: JobRequestSpec) {
    this.function = spec.function;
    this.unique = spec.unique;
    this.data = spec.data;
    this.background = spec.background;
    this.priority = spec.priority;
    this.runAt = spec.runAt;
    this.maxConnectionAttempts = spec.maxConnectionAttempts;
    this.done = new Promise((r) => this.#resolveDone = r);
    this.accepted = new Promise((r) => this.#resolveAccepted = r);
  }

  /** python-gearman's `complete`: background jobs once created, foreground ones once complete or failed. */
  get complete(): boolean {
    return this.background ? this.state === "CREATED" : this.state === "COMPLETE" || this.state === "FAILED";
  }

  /** True once nothing more will happen to this request. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Calls `listener` with every update from now on; returns a function that stops it. */
  on(listener: Listener<T>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every update, from the first (past ones replayed), until the request ends. */
  async *updates(): AsyncGenerator<JobUpdate<T>> {
    let seen = 0;
    let wake: (() => void) | undefined;
    const off = this.on(() => wake?.());
    try {
      for (;;) {
        while (seen < this.#history.length) yield this.#history[seen++]!;
        if (this.#ended) return;
        await new Promise<void>((r) => wake = r);
      }
    } finally {
      off();
    }
  }

  /** @internal The library records what arrived; applications only read. */
  record(update: JobUpdate<T>, now: number): void {
    if (this.#ended) return;
    switch (update.type) {
      case "created":
        this.handle = update.handle;
        this.state = "CREATED";
        break;
      case "data":
        this.dataUpdates.push(update.data);
        break;
      case "warning":
        this.warningUpdates.push(update.data);
        break;
      case "status":
        this.status = {
          handle: this.handle ?? "",
          known: true,
          running: true,
          numerator: update.numerator,
          denominator: update.denominator,
          timeReceived: now,
        };
        break;
      case "complete":
        this.result = update.result;
        this.state = "COMPLETE";
        break;
      case "failed":
        this.exception = update.exception;
        this.error = update.error;
        this.state = "FAILED";
        break;
      case "timeout":
        this.timedOut = true;
        break;
    }
    this.#history.push(update);
    const ends = update.type === "complete" || update.type === "failed" || update.type === "timeout" ||
      (update.type === "created" && this.background);
    if (ends) this.#ended = true;
    if (update.type === "created" || ends) this.#resolveAccepted(this);
    if (ends) this.#resolveDone(this);
    for (const l of this.#listeners) l(update);
  }
}
