/**
 * Probes for the rules every bad-input case must keep (docs/reliability.md §2,
 * R1–R7): an event-loop lag meter (R1: never blocked > 100 ms), a bystander
 * connection echoing on a beat (R2: other connections unaffected), a log
 * capture (R5: few lines, never the payload), counter deltas (R7) and the
 * RSS of another process (for the floods).
 *
 * The timing claims (R1, R2) hold on a loaded machine too, measured so:
 * - time a thread sat runnable in the kernel's run queue while other
 *   processes held the CPUs is taken off the lag and off each echo's round
 *   trip (Linux's /proc/thread-self/schedstat): the server did not cause it.
 *   Time the thread ran (our code, its garbage collection) or slept in a
 *   system call still counts, so a server that blocks its loop is caught;
 * - `withProbe` (and `timingHolds` for tests that measure by hand) gives a
 *   timing claim three attempts on a fresh server and passes when one of
 *   them keeps it: a noisy neighbour can spoil one run, a server that
 *   blocks its loop spoils all three. Any other failed assertion fails at once.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type GearboxServer, Logger, MemoryStore, type ServerOptions } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { assertAlive } from "./inproc.ts";
import { RawConn } from "./raw_conn.ts";
import { sleep } from "./wait.ts";

/** Resident set size of a process in MiB, from /proc (NaN once it is gone). */
export function rssMiB(pid: number | "self" = "self"): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** This process's soft limit on open files (from /proc; Infinity when unknown or unlimited). */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m && m[1] !== "unlimited" ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

/**
 * Time a thread has waited runnable in the kernel's run queue so far, ms
 * (Linux's schedstat, second field): the calling thread (the one running
 * JavaScript) by default, or another process's main thread. Undefined where
 * the file is missing (another OS, a kernel without it).
 */
function waitedMs(pid?: number): number | undefined {
  try {
    const waited = Number(readFileSync(pid === undefined ? "/proc/thread-self/schedstat" : `/proc/${pid}/schedstat`, "utf8").split(" ")[1]);
    return Number.isNaN(waited) ? undefined : waited / 1e6;
  } catch {
    return undefined;
  }
}

/** Run-queue wait so far, ms, of this thread (and of the main threads of `pids`); 0 where the kernel does not say. */
export function runQueueWaitMs(pids: readonly number[] = []): number {
  let waited = waitedMs() ?? 0;
  for (const pid of pids) waited += waitedMs(pid) ?? 0;
  return waited;
}

/**
 * Measures how late a 10 ms timer fires: the longest time the event loop was
 * blocked. A late tick's gap counts only the time this thread could have run:
 * the time it sat runnable in the run queue while other processes held the
 * CPUs is taken off. `worst` keeps that tick's clock gap and run-queue wait.
 */
export class LoopLag {
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #lastWait = 0;
  max = 0;
  worst = { gapMs: 0, waitedMs: 0 };

  start(): this {
    this.reset();
    this.#timer = setInterval(() => {
      const t = performance.now();
      const wait = runQueueWaitMs();
      const gap = t - this.#last - 10;
      const lag = gap - (wait - this.#lastWait);
      if (lag > this.max) {
        this.max = lag;
        this.worst = { gapMs: gap, waitedMs: wait - this.#lastWait };
      }
      this.#last = t;
      this.#lastWait = wait;
    }, 10);
    return this;
  }

  stop(): number {
    clearInterval(this.#timer);
    return this.max;
  }

  /** Forgets what was measured so far. */
  reset(): void {
    this.#last = performance.now();
    this.#lastWait = runQueueWaitMs();
    this.max = 0;
    this.worst = { gapMs: 0, waitedMs: 0 };
  }

  /** The worst tick, for a failure message. */
  describe(): string {
    return `${this.max.toFixed(0)} ms (a tick ${this.worst.gapMs.toFixed(0)} ms late, of it ${
      this.worst.waitedMs.toFixed(0)
    } ms in the run queue)`;
  }
}

/** What a timing claim measured in one attempt: undefined when it held, else why not. */
export type TimingMiss = string | undefined;

/** How many attempts a timing claim gets (see the module's comment). */
export const TIMING_ATTEMPTS = 3;

/**
 * Runs `attempt` until one keeps its timing claims, at most TIMING_ATTEMPTS
 * times; fails with every attempt's numbers when none did. An attempt sets
 * up what it measures afresh and returns its miss (undefined: the claims
 * held); any assertion it throws fails the test at once, never retried.
 */
export async function timingHolds(attempt: (n: number) => Promise<TimingMiss>): Promise<void> {
  const misses: string[] = [];
  for (let n = 1; n <= TIMING_ATTEMPTS; n++) {
    const miss = await attempt(n);
    if (miss === undefined) return;
    misses.push(`attempt ${n}: ${miss}`);
  }
  assert.fail(`the timing claim failed in all ${TIMING_ATTEMPTS} attempts:\n${misses.join("\n")}`);
}

/**
 * A well-behaved client that sends an echo, waits for it, and repeats;
 * records each round trip (less the time spent in the run queue).
 */
export class Bystander {
  readonly latencies: number[] = [];
  error: Error | undefined;
  #stop = false;
  #epoch = 0;
  #loop: Promise<void> = Promise.resolve();
  #conn: RawConn | undefined;

  #serverPids: readonly number[] = [];

  /**
   * Connects and starts echoing. Each round trip has the run-queue wait of
   * this thread taken off, and that of `serverPids`' main threads when the
   * server runs in another process.
   */
  static async start(port: number, pauseMs = 5, serverPids: readonly number[] = []): Promise<Bystander> {
    const b = new Bystander();
    b.#serverPids = serverPids;
    b.#conn = await RawConn.connect(port);
    b.#loop = b.#run(pauseMs);
    return b;
  }

  async #run(pauseMs: number): Promise<void> {
    const c = this.#conn!;
    try {
      // Stopping waits for at least one measured echo, so a short window still has a round trip.
      for (let i = 0; !this.#stop || this.latencies.length === 0; i++) {
        const t0 = performance.now();
        const w0 = runQueueWaitMs(this.#serverPids);
        const epoch = this.#epoch;
        c.sendPacket(Cmd.ECHO_REQ, `b${i}`);
        const p = await c.expectPacket(Cmd.ECHO_RES, 2000);
        if (p.body.toString() !== `b${i}`) throw new Error(`bystander got ${p.body.toString()} for b${i}`);
        const waited = runQueueWaitMs(this.#serverPids) - w0;
        if (epoch === this.#epoch) this.latencies.push(Math.max(performance.now() - t0 - waited, 0));
        await sleep(pauseMs);
      }
    } catch (e) {
      this.error = e as Error;
    }
  }

  /** Forgets the round trips so far, and the one in flight. */
  reset(): void {
    this.latencies.length = 0;
    this.#epoch++;
  }

  /** Stops and returns the round trips (p99, max) and the error if an echo was lost or late past 2 s. */
  async stop(): Promise<{ count: number; p99: number; max: number; error: Error | undefined }> {
    this.#stop = true;
    await this.#loop;
    this.#conn?.close();
    const s = [...this.latencies].sort((a, b) => a - b);
    return { count: s.length, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0, max: s.at(-1) ?? 0, error: this.error };
  }
}

/** A logger that keeps every line (JSON, debug level) for R5 checks. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ level: "debug", format: "json", write: (l) => lines.push(l) }), lines };
}

/** Everything a probed test can look at while and after it runs. */
export interface Probe {
  server: GearboxServer;
  port: number;
  store: MemoryStore;
  /** Log lines written since the probe started (server start-up lines excluded). */
  logs(): string[];
  /** How much a counter moved since the probe started. */
  delta(cause: string): number;
  /**
   * Starts R1/R2 measuring afresh after a test's set-up, which runs in this
   * same process: the set-up's own client work and garbage are not the stall
   * of the requests under test.
   */
  measureFromHere(): void;
}

export interface ProbeLimits {
  /** R1: longest event-loop stall allowed, ms. */
  maxLagMs?: number;
  /** R2: bystander echo p99, ms (50 ms: docs/reliability.md R2 and goal M1). */
  p99Ms?: number;
  /** R3: the store must hold exactly this many jobs afterwards (default: as many as before). */
  storeSize?: number;
}

/** A full collection where the runtime offers one (Bun), so earlier garbage is not timed later. */
function collectGarbage(): void {
  (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
}

/**
 * Runs `fn` against an in-process server with a bystander echoing, the loop
 * lag meter on and logs captured; afterwards asserts R1 (a fresh connection's
 * echo is answered within 1 s, no stall over 100 ms), R2 (the bystander never
 * failed, p99 within bound) and R3 (store unchanged unless told otherwise).
 * The timing claims (no stall, p99) get TIMING_ATTEMPTS attempts, each with
 * `fn` on a fresh server, and hold when one attempt keeps both; every other
 * assertion, `fn`'s own included, fails at the first attempt.
 */
export async function withProbe(options: ServerOptions, fn: (p: Probe) => Promise<void>, limits: ProbeLimits = {}): Promise<void> {
  await timingHolds(() => probeOnce(options, fn, limits));
}

async function probeOnce(options: ServerOptions, fn: (p: Probe) => Promise<void>, limits: ProbeLimits): Promise<TimingMiss> {
  const { logger, lines } = captureLogger();
  const store = new MemoryStore();
  const server = createServer({ port: 0, listen: "127.0.0.1", storeInstance: store, logger, ...options });
  await server.start();
  const port = server.port;
  const from = lines.length;
  const base = new Map(server.core.view.counters);
  const storeBefore = store.size;
  // Collect what earlier tests in this process left behind, so their garbage is not timed as this server's stall.
  collectGarbage();
  const lag = new LoopLag().start();
  let bystander: Bystander | undefined;
  try {
    bystander = await Bystander.start(port);
    await fn({
      server,
      port,
      store,
      logs: () => lines.slice(from),
      delta: (cause) => (server.core.view.counters.get(cause) ?? 0) - (base.get(cause) ?? 0),
      measureFromHere: () => {
        collectGarbage();
        lag.reset();
        bystander?.reset();
      },
    });
    const echo = await bystander.stop();
    bystander = undefined;
    const maxLag = lag.stop();
    await assertAlive(port);
    assert.ok(!echo.error, `R2: the bystander connection failed: ${echo.error?.message}`);
    assert.ok(echo.count > 0, "R2: the bystander got no echo at all");
    assert.equal(store.size, limits.storeSize ?? storeBefore, "R3: the store changed");
    const misses: string[] = [];
    if (maxLag > (limits.maxLagMs ?? 100)) misses.push(`R1: the event loop was blocked for ${lag.describe()}`);
    if (echo.p99 > (limits.p99Ms ?? 50)) {
      misses.push(`R2: bystander echo p99 ${echo.p99.toFixed(1)} ms (max ${echo.max.toFixed(1)} ms, ${echo.count} echoes)`);
    }
    return misses.length > 0 ? misses.join("; ") : undefined;
  } finally {
    lag.stop();
    await bystander?.stop().catch(() => {});
    await server.stop();
  }
}

/**
 * R5: at most `perCause` log lines for each distinct message+reason, and no
 * line carries `canary` (payload bytes must never be logged).
 */
export function assertQuietLogs(lines: string[], perCause: number, canary: string): void {
  const byCause = new Map<string, number>();
  for (const l of lines) {
    assert.ok(!l.includes(canary), `R5: a log line carries the payload: ${l.slice(0, 300)}`);
    let key = l;
    try {
      const j = JSON.parse(l) as { msg?: string; reason?: string };
      key = `${j.msg} ${j.reason ?? ""}`;
    } catch { /* text line: whole line is the key */ }
    byCause.set(key, (byCause.get(key) ?? 0) + 1);
  }
  for (const [cause, n] of byCause) assert.ok(n <= perCause, `R5: ${n} log lines for "${cause}" (at most ${perCause})`);
}
