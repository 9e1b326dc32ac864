/**
 * A cluster node's duty (docs/cluster.md), on the server's injected Clock:
 * every third of `node_lease` it heartbeats in the store, then adopts the
 * jobs of nodes whose heartbeat is older than the lease and hands them to
 * the core (`JobServer.adopt`, which wakes sleeping workers), logging each
 * adoption. A heartbeat that finds this node no longer live (it was cut off
 * from the database past the lease and another node adopted its jobs) stops
 * the server: the jobs it still holds in memory are another node's now, and
 * serving them would run them twice. A restart replays only the rows still
 * its own. On a store that is not shared, the duty only answers `nodes`.
 *
 * @module
 */
import type { JobServer, StoredJob } from "../core/mod.ts";
import type { Logger } from "../log/logger.ts";
import { type JobStore, StoreError } from "../store/job_store.ts";
import type { Clock } from "./clock.ts";
import type { StoreHealth } from "./store_health.ts";
import { nodesReply } from "./nodes_reply.ts";

/** Adopted jobs handed to the core per turn of the event loop. */
const ADOPT_SLICE = 5000;

/** The server's parts the duty works with. */
export interface ClusterDutyParts {
  /** The store; its `cluster` part, if it has one, is joined as {@link node} (before it is opened). */
  readonly store: JobStore;
  readonly core: JobServer;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Heartbeats that cannot reach the store count toward its outage (store_health.ts). */
  readonly health?: StoreHealth;
  readonly node: string;
  readonly leaseMs: number;
}

/** What the duty asks of the server. */
export interface ClusterDutyHooks {
  /** `HOST:PORT` the node announces. */
  address(): string;
  /** Writes the core's output and effects (after an adoption). */
  flush(): void;
  /** This node was declared dead: stop serving. */
  lost(message: string): void;
}

export class ClusterDuty {
  readonly #t: ClusterDutyParts & ClusterDutyHooks;
  #timer: unknown;
  #stopped = false;
  /** The round in flight, if any (a test waits for it after advancing the clock). */
  #round: Promise<void> = Promise.resolve();

  constructor(parts: ClusterDutyParts, hooks: ClusterDutyHooks) {
    this.#t = { ...parts, address: hooks.address, flush: hooks.flush, lost: hooks.lost };
    parts.store.cluster?.join({ id: parts.node });
  }

  /** Once the server listens: a first round now (the node announces its address), then one every third of the lease. */
  start(): void {
    if (this.#t.store.cluster) this.#run();
  }

  /** The `nodes` admin reply (nodes_reply.ts); on a store that is not shared, this server alone. */
  nodes(): Promise<string> {
    const t = this.#t;
    const self = { node: t.node, address: t.address(), heartbeatAgeMs: 0, jobs: t.core.view.jobs.size, state: "live" as const };
    return nodesReply(t.store, self, t.leaseMs);
  }

  /** Resolves once the round in flight (if any) has finished. */
  settled(): Promise<void> {
    return this.#round;
  }

  /** No further rounds; resolves once the one in flight has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#t.clock.clearTimeout(this.#timer);
    await this.#round;
  }

  #run(): void {
    this.#round = this.#once().finally(() => {
      if (!this.#stopped) this.#timer = this.#t.clock.setTimeout(() => this.#run(), Math.max(1, Math.floor(this.#t.leaseMs / 3)));
    });
  }

  async #once(): Promise<void> {
    const t = this.#t;
    const cluster = t.store.cluster!;
    try {
      if (!await cluster.heartbeat(t.address())) {
        this.#stopped = true;
        t.lost(
          `node ${t.node} was found dead by another node (no heartbeat for ${t.leaseMs / 1000} s) and its jobs adopted; ` +
            "stopping so as not to serve them twice. Start it again to rejoin the cluster",
        );
        return;
      }
      t.health?.answered();
      if (this.#stopped) return;
      for (const a of await cluster.adoptDead(t.leaseMs)) {
        const jobs = await this.#enter(a.jobs, a.from);
        t.logger.warn("adopted the jobs of a dead node", { node: a.from, jobs, by: t.node });
        if (a.damaged.length > 0) {
          t.logger.error("adopted job rows fail their checksum; they are not served", {
            node: a.from,
            ids: a.damaged.slice(0, 10).join(","),
          });
        }
      }
    } catch (e) {
      this.#failed(e as Error);
    }
  }

  /**
   * A round that failed. The node's lock found held by another process
   * (the database restarted, and its lock went with its session) stops the
   * server like a lost node; an unreachable store counts toward the outage;
   * anything else is logged at most once per 10 s.
   */
  #failed(e: Error): void {
    const t = this.#t;
    if (e instanceof StoreError && e.code === "STORE_LOCKED") {
      this.#stopped = true;
      t.lost(`node ${t.node}: ${e.message}; stopping so as not to serve its jobs twice`);
    } else if (t.health && e instanceof StoreError && e.code === "STORE_UNAVAILABLE") t.health.failed("heartbeat", e);
    else t.logger.limited("cluster_duty", 10_000, "error", "cluster heartbeat or adoption failed", { error: e.message });
  }

  /**
   * Hands adopted jobs to the core {@link ADOPT_SLICE} at a time, output
   * flushed after each and other connections served between them
   * (docs/architecture.md §4: a dead node's million jobs never hold the loop).
   */
  async #enter(jobs: readonly StoredJob[], from: string): Promise<number> {
    const t = this.#t;
    let entered = 0;
    for (let i = 0; i < jobs.length; i += ADOPT_SLICE) {
      if (i > 0) await new Promise((r) => setImmediate(r)); // paces the loop, not a deadline: real time
      entered += t.core.adopt(jobs.slice(i, i + ADOPT_SLICE), from, t.clock.now());
      t.flush();
    }
    return entered;
  }
}
