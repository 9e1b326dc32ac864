/**
 * Group commit: every store change the core asks for during one turn of the
 * event loop goes into one `commit`, and the core hears the outcome (so it
 * can acknowledge or refuse the submissions) only after the store answered.
 * Commits run one at a time, in order, so a job is never deleted before it
 * was added.
 *
 * A commit that cannot reach the store refuses its new jobs (their
 * submitters get an ERROR) but keeps its updates and deletes (completions, retries): they go into every
 * later commit until one succeeds, retried every {@link RETRY_MS} while
 * nothing else is written, so a database outage loses no completion. A
 * delete paired with new jobs (WORK_REPLACE) fails with them and is not
 * kept. What is still kept when the server stops is lost with it: those
 * jobs run again after a restart (at-least-once).
 *
 * @module
 */
import type { StoredJob } from "../core/mod.ts";
import type { JobStore, StoreBatch } from "../store/job_store.ts";
import type { ServerStats } from "./server_stats.ts";
import { type StoreHealth, unreachable } from "./store_health.ts";
import { Histogram } from "../metrics/histogram.ts";
import { BATCH_BUCKETS, COMMIT_SECONDS_BUCKETS } from "./server_metrics.ts";

/** How long kept changes wait before they are tried again when no other commit carries them. */
export const RETRY_MS = 1000;
/** Most loop turns a commit of new jobs waits while more keep arriving (see StoreWriter.#gather). */
export const GATHER_TURNS = 4;

export interface CommitOutcome {
  added: number[];
  error: Error | undefined;
  /** Jobs the store coalesced into another live job of the cluster, by id, with its handle (job_store.ts `CommitResult`). */
  coalesced?: ReadonlyMap<number, string>;
}

export class StoreWriter {
  readonly #store: JobStore;
  readonly #onCommitted: (outcome: CommitOutcome) => void;
  #next: Required<StoreBatch> = { add: [], update: [], remove: [] };
  /** Deletes of the next batch that belong with its new jobs (a replace): they fail with them. */
  #paired = new Set<number>();
  /** The last commit failed: changes it kept wait {@link RETRY_MS}. */
  #failing = false;
  readonly #health: StoreHealth | undefined;
  /** "now": a commit runs at the end of this loop turn; "later": after the completion delay. */
  #scheduled: false | "now" | "later" = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #completionDelayMs: number;
  #inFlight: Promise<void> | undefined;
  /** Loop turns the next commit has waited for more new jobs, and how many it had at the last look. */
  #gathered = 0;
  #seenAdds = -1;
  /** New jobs of the next batch already handed to the store's `stage`. */
  #staged = 0;
  /** Jobs per commit, for logs and benchmarks. */
  commits = 0;
  committedJobs = 0;
  /** Seconds each successful commit took (real time: the store's latency), and its jobs and changes (`/metrics`). */
  readonly commitSeconds = new Histogram(COMMIT_SECONDS_BUCKETS);
  readonly batchJobs = new Histogram(BATCH_BUCKETS);

  /** What the writer counted, for `GearboxServer.stats`. */
  get counts(): Pick<ServerStats, "commits" | "committedJobs" | "commitSeconds" | "batchJobs"> {
    return { commits: this.commits, committedJobs: this.committedJobs, commitSeconds: this.commitSeconds, batchJobs: this.batchJobs };
  }

  /**
   * `completionDelayMs`: how long deletes of finished jobs may wait for company.
   * Nobody waits for them (a job finished but not yet deleted is at worst run
   * again after a crash: at-least-once), so they need not cost an fsync each.
   */
  constructor(store: JobStore, onCommitted: (outcome: CommitOutcome) => void, completionDelayMs = 20, health?: StoreHealth) {
    this.#store = store;
    this.#health = health;
    this.#onCommitted = onCommitted;
    this.#completionDelayMs = completionDelayMs;
  }

  add(job: StoredJob): void {
    this.#next.add.push(job);
    this.#schedule();
  }

  /** A changed job; like deletes, it may wait for company (nobody waits for it). */
  update(job: StoredJob): void {
    this.#next.update.push(job);
    this.#schedule();
  }

  /** New jobs and the job they replace, in the same commit (never split across two). */
  replace(remove: number | undefined, jobs: readonly StoredJob[]): void {
    this.#next.add.push(...jobs);
    if (remove !== undefined) this.#next.remove.push(remove), this.#paired.add(remove);
    this.#schedule();
  }

  remove(id: number): void {
    this.#next.remove.push(id);
    this.#schedule();
  }

  /** Changes waiting for the next commit. */
  get queued(): number {
    return this.#next.add.length + this.#next.update.length + this.#next.remove.length;
  }

  /** Commits what waits now instead of after the completion delay (bulk deletes must not pile up into one long commit). */
  hurry(): void {
    if (this.#scheduled === "later") this.#run();
  }

  get pending(): boolean {
    return this.#scheduled !== false || this.#inFlight !== undefined;
  }

  /**
   * Resolves when everything queued so far is committed, or a commit failed
   * (its kept changes are then tried no more: for a server that stops).
   */
  async flush(): Promise<void> {
    const failed = this.failedCommits;
    while (this.pending && this.failedCommits === failed) {
      if (this.#inFlight) await this.#inFlight;
      else if (this.#scheduled === "later") this.#run();
      else await new Promise((r) => setTimeout(r, 0));
    }
    if (this.#inFlight || this.#scheduled !== "later") return;
    clearTimeout(this.#timer);
    this.#scheduled = false;
  }

  /** Failed commits so far. */
  failedCommits = 0;

  #schedule(): void {
    if (this.#inFlight) return; // the commit's completion schedules the rest
    const wait = this.#next.add.length > 0 ? 0 : this.#failing ? RETRY_MS : this.#completionDelayMs;
    if (wait <= 0) {
      if (this.#scheduled === "now") return;
      clearTimeout(this.#timer);
      this.#scheduled = "now";
      this.#gathered = 0;
      this.#seenAdds = -1;
      // setImmediate runs after every socket read of this loop turn: one batch for all of them.
      setImmediate(() => this.#gather());
    } else if (this.#scheduled === false) {
      this.#scheduled = "later";
      this.#timer = setTimeout(() => this.#run(), wait);
    }
  }

  /**
   * Commits new jobs once a loop turn passed without more of them, up to
   * {@link GATHER_TURNS} turns: a client's pipelined burst larger than one
   * socket read (1000 submissions are about 150 kB; a read takes 64 kB)
   * then shares one commit, one fsync, instead of one per read. Each turn
   * lets the loop poll its sockets again, so an idle server adds one turn.
   */
  #gather(): void {
    if (this.#scheduled !== "now") return;
    const adds = this.#next.add.length;
    // Only new jobs gather: changes alone commit at the end of their turn, as before.
    if (adds > 0 && this.#gathered < GATHER_TURNS && adds !== this.#seenAdds) {
      this.#gathered++;
      this.#seenAdds = adds;
      this.#stage();
      setImmediate(() => this.#gather());
      return;
    }
    this.#run();
  }

  /**
   * While a commit of only new jobs gathers, a store that can (PostgreSQL)
   * starts sending the jobs gathered so far; the commit sends the rest.
   * Once anything else joins the batch, nothing more is staged (the store
   * then drops what it staged and commits the batch as usual).
   */
  #stage(): void {
    const next = this.#next;
    if (!this.#store.stage || next.update.length > 0 || next.remove.length > 0) return;
    if (this.#staged < next.add.length) this.#store.stage(next.add.slice(this.#staged));
    this.#staged = next.add.length;
  }

  #run(): void {
    if (this.#scheduled === false) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#scheduled = false;
    const batch = this.#next;
    const paired = this.#paired;
    this.#next = { add: [], update: [], remove: [] };
    this.#staged = 0;
    this.#paired = new Set();
    if (batch.add.length === 0 && batch.update.length === 0 && batch.remove.length === 0) return;
    const added = batch.add.map((j) => j.id);
    let coalesced: ReadonlyMap<number, string> | undefined;
    const t0 = performance.now();
    this.#inFlight = this.#store.commit(batch).then(
      (result) => {
        this.commitSeconds.observe((performance.now() - t0) / 1000);
        this.batchJobs.observe(batch.add.length + batch.update.length + batch.remove.length);
        this.commits++;
        this.committedJobs += added.length;
        this.#failing = false;
        this.#health?.answered();
        coalesced = result?.coalesced;
        return undefined;
      },
      (e: unknown) => {
        const error = e instanceof Error ? e : new Error(String(e));
        this.failedCommits++;
        this.#health?.failed("commit", error, added.length);
        // Kept only through an outage: changes the store refused would fail every later commit too.
        if ((this.#failing = unreachable(error))) this.#keep(batch, paired);
        return error;
      },
    ).then((error) => {
      this.#inFlight = undefined;
      this.#onCommitted({ added, error, coalesced });
      if (this.#next.add.length + this.#next.update.length + this.#next.remove.length > 0) this.#schedule();
    });
  }

  /**
   * A failed batch's updates and unpaired deletes go back in front of what
   * was queued since; an update superseded by a newer one of the same job
   * is dropped (one UPDATE must not name a job twice).
   */
  #keep(failed: Required<StoreBatch>, paired: ReadonlySet<number>): void {
    const next = this.#next;
    const newer = new Set(next.update.map((j) => j.id));
    next.update = [...failed.update.filter((j) => !newer.has(j.id)), ...next.update];
    const removes = new Set(next.remove);
    next.remove = [...failed.remove.filter((id) => !paired.has(id) && !removes.has(id)), ...next.remove];
  }
}
