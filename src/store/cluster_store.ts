/**
 * What a store shared by several servers offers on top of the store port
 * (docs/cluster.md): each server is a node that registers, heartbeats in the
 * store, takes its job ids from a range of its own, and adopts the jobs of
 * a node whose heartbeat is older than the lease. Only the PostgreSQL store
 * implements it; SQLite and memory are one server each.
 *
 * @module
 */
import type { StoredJob } from "../core/job.ts";

/** Who this server is in the cluster: its node id (`--node-id`). */
export interface NodeIdentity {
  readonly id: string;
}

/** Where a node allocates job ids: `[base, base + size)`, after `highest` (the largest of the range still stored). */
export interface IdRange {
  readonly base: number;
  readonly size: number;
  readonly highest: number;
}

/** A dead node's jobs, now this node's: its ids and handles unchanged. */
export interface Adoption {
  /** The node they came from. */
  readonly from: string;
  readonly jobs: StoredJob[];
  /**
   * Ids of rows adopted that fail their checksum: they are this node's rows
   * now but never served (a job never runs on wrong bytes); a restart refuses
   * the store over them, as it would have on their node.
   */
  readonly damaged: number[];
}

/** One row of admin `nodes`. */
export interface NodeRow {
  readonly node: string;
  /** `HOST:PORT` it last announced ('' before its first heartbeat). */
  readonly address: string;
  /** Age of its last heartbeat, in ms, by the database's clock. */
  readonly heartbeatAgeMs: number;
  /** Job rows it owns (live jobs and the ended ones kept in the dead set). */
  readonly jobs: number;
  /** `live`; `dead` (heartbeat older than the lease, not adopted yet); `adopted` by `adoptedBy`. */
  readonly state: "live" | "dead" | "adopted";
  readonly adoptedBy?: string;
}

export interface ClusterStore {
  /** Names this server before `open`: the rows it reads and writes are this node's. */
  join(node: NodeIdentity): void;
  /** This node's id range, known once the store is open. */
  readonly ids: IdRange;
  /**
   * Records that this node is alive (by the database's clock) at `address`.
   * False when the store no longer counts it as live: another node found it
   * dead and adopted its jobs.
   */
  heartbeat(address: string): Promise<boolean>;
  /**
   * Adopts every job of every node whose heartbeat is older than `leaseMs`,
   * in one transaction, each dead node by one adopter only, however many try;
   * one {@link Adoption} per dead node, an empty one for a node that held no job.
   */
  adoptDead(leaseMs: number): Promise<Adoption[]>;
  /** Every node the store knows, by node id. */
  nodes(leaseMs: number): Promise<NodeRow[]>;
}
