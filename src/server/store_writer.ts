/**
 * Group commit: every store change the core asks for during one turn of the
 * event loop goes into one `commit`, and the core hears the outcome (so it
 * can acknowledge or refuse the submissions) only after the store answered.
 * Commits run one at a time, in order, so a job is never deleted before it
 * was added.
 *
 * @module
 */
import type { StoredJob } from "../core/mod.ts";
import type { JobStore, StoreBatch } from "../store/job_store.ts";

export interface CommitOutcome {
  added: number[];
  error: Error | undefined;
}

export class StoreWriter {
  readonly #store: JobStore;
  readonly #onCommitted: (outcome: CommitOutcome) => void;
  #next: Required<StoreBatch> = { add: [], update: [], remove: [] };
  /** "now": a commit runs at the end of this loop turn; "later": after the completion delay. */
  #scheduled: false | "now" | "later" = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #completionDelayMs: number;
  #inFlight: Promise<void> | undefined;
  /** Jobs per commit, for logs and benchmarks. */
  commits = 0;
  committedJobs = 0;

  /**
   * `completionDelayMs`: how long deletes of finished jobs may wait for company.
   * Nobody waits for them (a job finished but not yet deleted is at worst run
   * again after a crash: at-least-once), so they need not cost an fsync each.
   */
  constructor(store: JobStore, onCommitted: (outcome: CommitOutcome) => void, completionDelayMs = 20) {
    this.#store = store;
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
    if (remove !== undefined) this.#next.remove.push(remove);
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

  /** Resolves when everything queued so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.pending) {
      if (this.#inFlight) await this.#inFlight;
      else if (this.#scheduled === "later") this.#run();
      else await new Promise((r) => setTimeout(r, 0));
    }
  }

  #schedule(): void {
    if (this.#inFlight) return; // the commit's completion schedules the rest
    if (this.#next.add.length > 0 || this.#completionDelayMs <= 0) {
      if (this.#scheduled === "now") return;
      clearTimeout(this.#timer);
      this.#scheduled = "now";
      // setImmediate runs after every socket read of this loop turn: one batch for all of them.
      setImmediate(() => this.#run());
    } else if (this.#scheduled === false) {
      this.#scheduled = "later";
      this.#timer = setTimeout(() => this.#run(), this.#completionDelayMs);
    }
  }

  #run(): void {
    if (this.#scheduled === false) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#scheduled = false;
    const batch = this.#next;
    this.#next = { add: [], update: [], remove: [] };
    if (batch.add.length === 0 && batch.update.length === 0 && batch.remove.length === 0) return;
    const added = batch.add.map((j) => j.id);
    this.#inFlight = this.#store.commit(batch).then(
      () => {
        this.commits++;
        this.committedJobs += added.length;
        return undefined;
      },
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    ).then((error) => {
      this.#inFlight = undefined;
      this.#onCommitted({ added, error });
      if (this.#next.add.length + this.#next.update.length + this.#next.remove.length > 0) this.#schedule();
    });
  }
}
