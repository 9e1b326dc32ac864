/**
 * What the edge must do on the core's behalf. Output bytes are drained
 * separately, per connection, already in order; these are the rest.
 *
 * @module
 */
import type { StoredJob } from "./job.ts";
import type { PendingAck } from "./record_shapes.ts";

export type Effect =
  /** Write the job to the store, then call `JobServer.persisted` with the outcome. */
  | { kind: "persist"; job: StoredJob }
  /** A stored job changed (a retry: its run time and failure count); nobody waits for it. */
  | { kind: "update"; job: StoredJob }
  /**
   * Add jobs and delete one in the same transaction (WORK_REPLACE), then
   * call `JobServer.persisted` with the added ids.
   */
  | { kind: "replace"; remove: number | undefined; add: StoredJob[] }
  /** The job ended (completed, failed, cancelled): delete it from the store. */
  | { kind: "forget"; id: number }
  /**
   * Read job `id`'s workload back from the store, then call
   * `JobServer.payloadRead(token, bytes, error, now)`; a held reply waits for it.
   */
  | { kind: "read"; id: number; token: number }
  /** Close the connection once its pending output is written. */
  | { kind: "close"; conn: number; reason: string }
  /**
   * Copy the store into `name` in the backup directory (admin `store backup`),
   * then answer through `JobServer.answer(conn, reply, text)`.
   */
  | { kind: "backup"; conn: number; name: string; reply: PendingAck }
  /**
   * List the cluster's nodes (admin `nodes`; the store knows them), then
   * answer through `JobServer.answer(conn, reply, text)`.
   */
  | { kind: "nodes"; conn: number; reply: PendingAck }
  /**
   * The `schedule ...` admin command (`args`: the words after it); the edge
   * keeps the schedules, then answers through `JobServer.answer(conn, reply, text)`.
   */
  | { kind: "schedule"; conn: number; args: string[]; reply: PendingAck }
  /** Stop the server; `graceful` drains first. */
  | { kind: "shutdown"; graceful: boolean }
  /** A line for the log (the core has no logger of its own). */
  | { kind: "log"; level: "debug" | "info" | "warn" | "error"; message: string; fields?: Record<string, unknown> };

/** Output and effects gathered since the last drain. */
export interface Drained {
  /** Bytes per connection, in the order they must be written. */
  output: [conn: number, chunks: Uint8Array[]][];
  effects: Effect[];
}
