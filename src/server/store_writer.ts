/**
 * Group commit: every store change the core asks for during one turn of the
 * event loop goes into one `commit`, and the core hears the outcome (so it
 * can acknowledge or refuse the submissions) only after the store answered.
 * Outcomes are told in the order the commits began.
 *
 * A store that takes several commits at once (`JobStore.commitLanes`,
 * PostgreSQL: one connection and one backend each) gets a commit of new jobs
 * only beside others in flight, up to that many: a new job is referred to by
 * no other change before its commit is told, so such commits cannot cross.
 * Any other change (a completion, a retry, a replace, a schedule) waits until
 * nothing is in flight and goes alone with the new jobs gathered meanwhile, so
 * a job is never deleted before it was added.
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
import type { JobStore, ScheduleRow, StoreBatch } from "../store/job_store.ts";
import type { ServerStats } from "./server_stats.ts";
import { type StoreHealth, unreachable } from "./store_health.ts";
import { Histogram } from "../metrics/histogram.ts";
import { BATCH_BUCKETS, COMMIT_SECONDS_BUCKETS } from "./server_metrics.ts";

/** How long kept changes wait before they are tried again when no other commit carries them. */
export const RETRY_MS = 1000;
/** Most loop turns a commit of new jobs waits while more keep arriving (see StoreWriter.#gather). */
export const GATHER_TURNS = 4;

/** What a schedule's change hears: the commit's error, or whether another node had moved its row (nothing of it written). */
export type ScheduleDone = (error: Error | undefined, lost: boolean) => void;

export interface CommitOutcome {
  added: number[];
  error: Error | undefined;
  /** Jobs the store coalesced into another live job of the cluster, by id, with its handle (job_store.ts `CommitResult`). */
  coalesced?: ReadonlyMap<number, string>;
}

export class StoreWriter {
  readonly #store: JobStore;
  readonly #onCommitted: (outcome: CommitOutcome) => void;
  #next: Required<StoreBatch> = emptyBatch();
  /** Told the outcome of the next commit: the schedule changes it carries (schedule_runner.ts). */
  #scheduleDone: { name: string; done: ScheduleDone }[] = [];
  /** Deletes of the next batch that belong with its new jobs (a replace): they fail with them. */
  #paired = new Set<number>();
  /** The last commit failed: changes it kept wait {@link RETRY_MS}. */
  #failing = false;
  readonly #health: StoreHealth | undefined;
  /** "now": a commit runs at the end of this loop turn; "later": after the completion delay. */
  #scheduled: false | "now" | "later" = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #completionDelayMs: number;
  /** Commits begun and not yet told, and the promise of the last one told (see {@link #run}). */
  #flights = 0;
  #told: Promise<void> = Promise.resolve();
  /** Most commits in flight at once: the store's lanes, 1 when it has none. */
  readonly #lanes: number;
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
    this.#lanes = Math.max(1, store.commitLanes ?? 1);
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

  /**
   * A schedule's row written in the next commit, with whatever jobs this
   * loop turn added (a slot's job): the two commit or fail together. A
   * failed commit keeps no schedule change; `done` hears the outcome.
   */
  schedule(change: { write: ScheduleRow } | { drop: string }, done: ScheduleDone): void {
    if ("write" in change) this.#next.schedules.push(change.write);
    else this.#next.dropSchedules.push(change.drop);
    this.#scheduleDone.push({ name: "write" in change ? change.write.name : change.drop, done });
    this.#schedule();
  }

  remove(id: number): void {
    this.#next.remove.push(id);
    this.#schedule();
  }

  /** Changes waiting for the next commit. */
  get queued(): number {
    return sizeOf(this.#next);
  }

  /** Commits what waits now instead of after the completion delay (bulk deletes must not pile up into one long commit). */
  hurry(): void {
    if (this.#scheduled === "later") this.#run();
  }

  get pending(): boolean {
    return this.#scheduled !== false || this.#flights > 0;
  }

  /**
   * Resolves when everything queued so far is committed, or a commit failed
   * (its kept changes are then tried no more: for a server that stops).
   */
  async flush(): Promise<void> {
    const failed = this.failedCommits;
    while (this.pending && this.failedCommits === failed) {
      if (this.#flights > 0) await this.#told;
      else if (this.#scheduled === "later") this.#run();
      else await new Promise((r) => setTimeout(r, 0));
    }
    if (this.#flights > 0 || this.#scheduled !== "later") return;
    clearTimeout(this.#timer);
    this.#scheduled = false;
  }

  /** Failed commits so far. */
  failedCommits = 0;

  /** The next batch is new jobs only, and the store takes several commits: it may go beside commits in flight. */
  #mayOverlap(): boolean {
    const n = this.#next;
    return this.#lanes > 1 && n.add.length > 0 && sizeOf(n) === n.add.length;
  }

  #schedule(): void {
    if (this.#flights > 0 && !this.#mayOverlap()) return; // a commit's completion schedules the rest
    const n = this.#next;
    const wait = n.add.length + n.schedules.length + n.dropSchedules.length > 0 ? 0 : this.#failing ? RETRY_MS : this.#completionDelayMs;
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
    if (this.#lanes > 1) return this.#runOrStage();
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
   * With several lanes nothing gathers while a lane is free: a burst's later
   * reads go in a commit of their own beside the first, on another backend,
   * instead of making the first one longer. With every lane busy, new jobs
   * wait for one, staged meanwhile, and a completion then schedules them.
   */
  #runOrStage(): void {
    if (this.#mayBegin()) return this.#run();
    if (this.#mayOverlap()) this.#stage();
    this.#scheduled = false;
  }

  /** A commit may begin now: nothing is in flight, or it is new jobs only and a lane is free. */
  #mayBegin(): boolean {
    return this.#flights === 0 || (this.#mayOverlap() && this.#flights < this.#lanes);
  }

  /**
   * While a commit of only new jobs gathers, a store that can (PostgreSQL)
   * starts sending the jobs gathered so far; the commit sends the rest.
   * Once anything else joins the batch, nothing more is staged (the store
   * then drops what it staged and commits the batch as usual).
   */
  #stage(): void {
    const next = this.#next;
    if (!this.#store.stage || sizeOf(next) > next.add.length) return;
    if (this.#staged < next.add.length) this.#store.stage(next.add.slice(this.#staged));
    this.#staged = next.add.length;
  }

  #run(): void {
    if (this.#scheduled === false) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#scheduled = false;
    if (!this.#mayBegin()) return; // a commit's completion schedules it
    const batch = this.#next;
    const paired = this.#paired;
    const scheduleDone = this.#scheduleDone;
    this.#scheduleDone = [];
    this.#next = emptyBatch();
    this.#staged = 0;
    this.#paired = new Set();
    if (sizeOf(batch) === 0) return;
    const added = batch.add.map((j) => j.id);
    let coalesced: ReadonlyMap<number, string> | undefined;
    let lost: readonly string[] = [];
    const t0 = performance.now();
    this.#flights++;
    const outcome = this.#store.commit(batch).then(
      (result) => {
        this.commitSeconds.observe((performance.now() - t0) / 1000);
        this.batchJobs.observe(batch.add.length + batch.update.length + batch.remove.length);
        this.commits++;
        this.committedJobs += added.length;
        this.#failing = false;
        this.#health?.answered();
        coalesced = result?.coalesced;
        lost = result?.lostSchedules ?? [];
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
    );
    // Told after every commit begun before it, whichever the store finished first: a
    // connection's JOB_CREATED replies stay in the order of its submissions.
    this.#told = Promise.all([this.#told, outcome]).then(([, error]) => {
      this.#flights--;
      this.#onCommitted({ added, error, coalesced });
      for (const { name, done } of scheduleDone) done(error, error === undefined && lost.includes(name));
      if (sizeOf(this.#next) > 0) this.#schedule();
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

function emptyBatch(): Required<StoreBatch> {
  return { add: [], update: [], remove: [], schedules: [], dropSchedules: [] };
}

function sizeOf(b: Required<StoreBatch>): number {
  return b.add.length + b.update.length + b.remove.length + b.schedules.length + b.dropSchedules.length;
}
