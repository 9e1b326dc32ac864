/**
 * The flight recorder: for every job a driven worker process runs, who ran
 * it (pid), when, how it ended (outcome, exit status or signal), the
 * process's peak resident memory during the run, and the last lines it
 * wrote (bounded bytes). A bounded ring per job (`runs_kept`); with
 * `runs_dir`, each ended run is also a JSON line in `JOB.runs.jsonl`,
 * trimmed back to `runs_kept` lines when it holds twice that, and read back
 * at start.
 *
 * Peak memory: VmHWM (the process's peak so far) is read when the run
 * starts and ends; when it grew, the new peak was reached during the run.
 * Otherwise the peak is the highest VmRSS sampled during the run
 * (`sample`, called by the driver while processes are busy). A command
 * job's run is its program's: the worker process names the program's pid
 * (`command`) and, when it ended, its peak (`commandEnded`, VmHWM read by
 * the worker process while the program ran). Output lines
 * that arrive just after the run's end (pipes and the report socket are not
 * ordered) still belong to it for GRACE_MS, before it is written to disk.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { DriverRun } from "../client/driver_console.ts";
import type { Logger } from "../log/logger.ts";
import { processMemory } from "../runtime/host_and_process.ts";
import { appendLine, fileIn, filesEndingIn, readLines, rewriteLines } from "../runtime/line_file.ts";

/** How long after a run's end its process's lines still belong to it. */
const GRACE_MS = 300;
const SUFFIX = ".runs.jsonl";

export interface RecorderOptions {
  runsKept: number;
  outputBytes: number;
  /** "" = memory only. */
  runsDir: string;
  log: Logger;
  /** Told of every run that ended (the drive metrics). */
  onEnd?: (run: DriverRun) => void;
}

interface Open {
  run: DriverRun;
  /** VmHWM when the run started. */
  peakBefore: number | undefined;
  /** The highest VmRSS seen during the run. */
  rssSeen: number;
  outputBytes: number;
  /**
   * A command job's program: its peak as the worker process measured it
   * (undefined until it ended), and the highest VmHWM the driver sampled
   * (what is left when the worker process died before telling).
   */
  command?: { peak: number | null | undefined; sampled: number | null };
}

export type RunEnd = Pick<DriverRun, "outcome"> & Partial<Pick<DriverRun, "exit_status" | "signal" | "message">>;

export class FlightRecorder {
  readonly #o: RecorderOptions;
  readonly #rings = new Map<string, DriverRun[]>();
  /** The run each process has under way, or ended within GRACE_MS. */
  readonly #byPid = new Map<number, Open>();
  readonly #lines = new Map<string, number>();
  /** Ended runs in their grace time, not yet on disk, with their timers. */
  readonly #pending = new Map<DriverRun, ReturnType<typeof setTimeout>>();

  constructor(options: RecorderOptions) {
    this.#o = options;
    if (options.runsDir !== "") this.#load();
  }

  begin(job: string, pid: number, handle: string, fn: string, now: number): void {
    this.#byPid.delete(pid);
    const mem = processMemory(pid);
    const run: DriverRun = {
      job,
      handle,
      function: fn,
      pid,
      worker_pid: pid,
      start: now,
      end: null,
      outcome: "running",
      exit_status: null,
      signal: null,
      peak_rss_bytes: mem?.rss ?? null,
      message: null,
      output: [],
    };
    this.#byPid.set(pid, { run, peakBefore: mem?.peak, rssSeen: mem?.rss ?? 0, outputBytes: 0 });
    this.#push(run);
  }

  /** Worker process `pid`'s run is command `commandPid`'s: its pid and peak memory are the program's. */
  command(pid: number, commandPid: number): void {
    const open = this.#byPid.get(pid);
    if (!open || open.run.end !== null) return;
    open.run.pid = commandPid;
    open.run.peak_rss_bytes = null;
    open.command = { peak: undefined, sampled: null };
  }

  /** The command of process `pid`'s run ended, with this peak memory (bytes, null when unknown). */
  commandEnded(pid: number, peak: number | null): void {
    const open = this.#byPid.get(pid);
    if (open?.command && open.run.end === null) open.command.peak = peak;
  }

  /** Samples the resident memory of every process with a run under way. */
  sample(): void {
    for (const [pid, open] of this.#byPid) {
      if (open.run.end !== null) continue;
      if (open.command) {
        const mem = processMemory(open.run.pid);
        if (mem) open.command.sampled = Math.max(open.command.sampled ?? 0, mem.peak);
        continue;
      }
      const mem = processMemory(pid);
      if (mem) open.rssSeen = Math.max(open.rssSeen, mem.rss);
    }
  }

  /** A line process `pid` wrote; the handle of the run it belongs to, if any. */
  output(pid: number, stream: "stdout" | "stderr", line: string): string | undefined {
    const open = this.#byPid.get(pid);
    if (!open) return undefined;
    const out = open.run.output;
    out.push({ stream, line });
    open.outputBytes += Buffer.byteLength(line) + 1;
    while (open.outputBytes > this.#o.outputBytes && out.length > 0) open.outputBytes -= Buffer.byteLength(out.shift()!.line) + 1;
    return open.run.handle;
  }

  /** The handle of the run process `pid` has under way. */
  handleOf(pid: number): string | undefined {
    const open = this.#byPid.get(pid);
    return open && open.run.end === null ? open.run.handle : undefined;
  }

  /** Ends the run under way in process `pid` (nothing when it has none). */
  end(pid: number, how: RunEnd, now: number): void {
    const open = this.#byPid.get(pid);
    if (!open || open.run.end !== null) return;
    const mem = processMemory(pid);
    if (mem) open.rssSeen = Math.max(open.rssSeen, mem.rss);
    const grew = mem !== undefined && open.peakBefore !== undefined && mem.peak > open.peakBefore;
    const run = open.run;
    if (open.command) run.peak_rss_bytes = maxOf(open.command.peak, open.command.sampled);
    else run.peak_rss_bytes = grew ? mem.peak : open.rssSeen > 0 ? open.rssSeen : null;
    run.end = now;
    run.outcome = how.outcome;
    run.exit_status = how.exit_status ?? null;
    run.signal = how.signal ?? null;
    run.message = how.message?.slice(0, 1000) ?? null;
    this.#o.onEnd?.(run);
    this.#pending.set(
      run,
      setTimeout(() => {
        this.#pending.delete(run);
        if (this.#byPid.get(pid) === open) this.#byPid.delete(pid);
        this.#persist(run);
      }, GRACE_MS),
    );
  }

  /** The job's last `n` runs, newest first. */
  runs(job: string, n = Infinity): DriverRun[] {
    return [...(this.#rings.get(job) ?? [])].reverse().slice(0, n);
  }

  /** The newest run of this handle in any job. */
  run(handle: string): DriverRun | undefined {
    let found: DriverRun | undefined;
    for (const ring of this.#rings.values()) {
      for (const r of ring) if (r.handle === handle && (!found || r.start >= found.start)) found = r;
    }
    return found;
  }

  /** Writes what is still in its grace time (on stop). */
  flush(): void {
    for (const [run, t] of this.#pending) {
      clearTimeout(t);
      this.#persist(run);
    }
    this.#pending.clear();
    this.#byPid.clear();
  }

  #push(run: DriverRun): void {
    const ring = this.#rings.get(run.job) ?? [];
    this.#rings.set(run.job, ring);
    ring.push(run);
    if (ring.length > this.#o.runsKept) ring.splice(0, ring.length - this.#o.runsKept);
  }

  #file(job: string): string {
    return fileIn(this.#o.runsDir, encodeURIComponent(job) + SUFFIX);
  }

  #persist(run: DriverRun): void {
    if (this.#o.runsDir === "" || this.#o.runsKept === 0) return;
    const path = this.#file(run.job);
    try {
      appendLine(path, this.#o.runsDir, JSON.stringify(run));
      const n = (this.#lines.get(run.job) ?? 0) + 1;
      this.#lines.set(run.job, n);
      if (n >= 2 * this.#o.runsKept) {
        rewriteLines(path, readLines(path).slice(-this.#o.runsKept));
        this.#lines.set(run.job, this.#o.runsKept);
      }
    } catch (e) {
      this.#o.log.limited(`runs_dir:${run.job}`, 60_000, "warn", "cannot write the run to runs_dir", {
        job: run.job,
        file: path,
        error: (e as Error).message,
      });
    }
  }

  /** The runs kept on disk by an earlier driver, newest last (a line that does not parse is skipped). */
  #load(): void {
    let names: string[];
    try {
      names = filesEndingIn(this.#o.runsDir, SUFFIX);
    } catch (e) {
      throw new Error(`runs_dir ${this.#o.runsDir}: cannot read it: ${(e as Error).message}`);
    }
    for (const name of names) {
      const path = fileIn(this.#o.runsDir, name);
      let lines: string[];
      try {
        lines = readLines(path);
      } catch (e) {
        throw new Error(`runs_dir: cannot read ${path}: ${(e as Error).message}`);
      }
      this.#lines.set(decodeURIComponent(name.slice(0, -SUFFIX.length)), lines.length);
      for (const line of lines.slice(-this.#o.runsKept)) {
        try {
          this.#push(JSON.parse(line) as DriverRun);
        } catch {
          this.#o.log.warn("runs_dir: a line that is not JSON is skipped", { file: path });
        }
      }
    }
  }
}

function maxOf(a: number | null | undefined, b: number | null): number | null {
  return a === null || a === undefined ? b : b === null ? a : Math.max(a, b);
}
