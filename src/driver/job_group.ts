/**
 * The processes of one job and what the driver remembers about it:
 * min/max (changeable from the console), each process's state, the last
 * run and the last error (Gearman::Driver's extended status), and the
 * crash accounting that turns a job whose processes keep dying into a
 * visible crash-loop state with growing restart delays.
 *
 * @module
 */
import type { ChildHandle } from "../runtime/process.ts";
import type { JobDefinition } from "./job_definition.ts";

/** Runs the measured rate is taken from. */
const RECENT_RUNS = 20;

export type ProcessState = "starting" | "idle" | "busy" | "stopping";

export interface WorkerProcess {
  pid: number;
  handle: ChildHandle;
  startedAt: number;
  state: ProcessState;
  /** When the process last finished a job (or started, before its first). */
  idleSince: number;
  /** The job it runs now. */
  jobHandle?: string;
  jobStartedAt?: number;
  jobsDone: number;
  /** The driver asked it to stop (or it said it exits on purpose): its exit is not a crash. */
  stopRequested: boolean;
  /** SIGKILLed for overrunning its job's timeout. */
  killed?: boolean;
  /** When it said it exits on purpose after a job's timeout. */
  retiredAt?: number;
}

/** Crash accounting and restart delays, as the settings say. */
export interface RestartPolicy {
  restartDelayMs: number;
  restartDelayMaxMs: number;
  crashLoopAfter: number;
  stableAfterMs: number;
}

export class JobGroup {
  readonly def: JobDefinition;
  min: number;
  max: number;
  readonly processes = new Map<number, WorkerProcess>();
  lastrun = 0;
  lasterror = 0;
  lasterrorMsg = "";
  /** Jobs that failed since the last one that succeeded (a timeout and a decode failure included). */
  failuresInRow = 0;
  /** Unexpected exits in a row of processes that died young. */
  crashes = 0;
  /** No start before this time (a restart delay after a crash). */
  notBefore = 0;
  started = 0;
  /** How long its last runs took (ms, the newest last): the measured rate for target_wait. */
  readonly recentRunMs: number[] = [];

  constructor(def: JobDefinition) {
    this.def = def;
    this.min = def.min;
    this.max = def.max;
  }

  get name(): string {
    return this.def.name;
  }

  /** Processes alive and not asked to stop: what min and max count. */
  get current(): number {
    let n = 0;
    for (const p of this.processes.values()) if (!p.stopRequested) n++;
    return n;
  }

  /** A run ended after `ms`; the last RECENT_RUNS are kept. */
  noteRun(ms: number): void {
    this.recentRunMs.push(Math.max(ms, 1));
    if (this.recentRunMs.length > RECENT_RUNS) this.recentRunMs.shift();
  }

  /** Jobs one process completes per second, from its last runs; undefined before the first. */
  ratePerProcess(): number | undefined {
    if (this.recentRunMs.length === 0) return undefined;
    const mean = this.recentRunMs.reduce((a, b) => a + b, 0) / this.recentRunMs.length;
    return 1000 / mean;
  }

  crashLooping(policy: RestartPolicy): boolean {
    return this.crashes >= policy.crashLoopAfter;
  }

  /** Process trouble first (crash-loop, restarting), then `failing` while its last job failed. */
  state(policy: RestartPolicy): "ok" | "failing" | "restarting" | "crash-loop" {
    if (this.crashLooping(policy)) return "crash-loop";
    if (this.crashes > 0) return "restarting";
    return this.failuresInRow > 0 ? "failing" : "ok";
  }

  /**
   * Records a process's exit; returns the delay before a replacement may
   * start when it was a crash, or undefined when it was asked to stop.
   */
  exited(pid: number, now: number, policy: RestartPolicy): number | undefined {
    const p = this.processes.get(pid);
    this.processes.delete(pid);
    if (!p || p.stopRequested) return undefined;
    const lived = now - p.startedAt;
    this.crashes = lived >= policy.stableAfterMs ? 1 : this.crashes + 1;
    const delay = Math.min(policy.restartDelayMs * 2 ** (this.crashes - 1), policy.restartDelayMaxMs);
    this.notBefore = now + delay;
    return delay;
  }

  /** A process that lived long enough proves the job healthy again. */
  noteStability(now: number, policy: RestartPolicy): boolean {
    if (this.crashes === 0) return false;
    for (const p of this.processes.values()) {
      if (now - p.startedAt >= policy.stableAfterMs) {
        this.crashes = 0;
        this.notBefore = 0;
        return true;
      }
    }
    return false;
  }
}
