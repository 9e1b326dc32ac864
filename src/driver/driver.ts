/**
 * `gearbox drive`'s supervisor: owns the job groups and their processes,
 * runs the observer every interval (jobs waiting on every server → a
 * scaling decision per job, logged with its reason), replaces crashed
 * processes with growing delays, kills a process whose job overran its
 * timeout and that did not end it itself, logs every start, stop and line
 * of output, and drains on stop.
 *
 * @module
 */
import { checkConsoleExposure, type DriveSettings, type DriveTimes, driveTimes } from "../config/drive_options.ts";
import type { Logger } from "../log/logger.ts";
import { tlsClientFiles } from "../config/tls_client_options.ts";
import type { TlsOptions } from "../client/tls_options.ts";
import { selfCommand } from "../runtime/load.ts";
import type { NetListener } from "../runtime/net.ts";
import { type ChildExit, spawnChild } from "../runtime/process.ts";
import type { DriverEvent, DriverJob, DriverRun } from "../client/driver_console.ts";
import type { ConsoleTarget } from "./console.ts";
import { applyReport } from "./apply_report.ts";
import { jobStatus } from "./job_status.ts";
import { enforceTimeouts } from "./enforce_timeouts.ts";
import { EventLog } from "./event_log.ts";
import type { ChildReport, ChildSpec, JobDefinition } from "./job_definition.ts";
import { JobGroup, type RestartPolicy, type WorkerProcess } from "./job_group.ts";
import { Observer } from "./observer.ts";
import { ReportListener } from "./report_listener.ts";
import { decideScale } from "./scaling.ts";
import { FlightRecorder } from "./flight_recorder.ts";
import { DriveMetrics } from "./drive_metrics.ts";
import { startListeners } from "./driver_listeners.ts";
import type { HttpListener } from "../runtime/http_server.ts";
import { recordExit, recordReport, RSS_SAMPLE_MS } from "./record_runs.ts";
import { waitInputOf } from "./wait_target.ts";

export interface SupervisorOptions {
  settings: DriveSettings;
  jobs: JobDefinition[];
  logger: Logger;
  /** The command a worker process runs (default: this program again with `__worker`). */
  childCommand?: readonly string[];
}

export class Supervisor implements ConsoleTarget {
  readonly #settings: DriveSettings;
  readonly #log: Logger;
  readonly #groups: JobGroup[];
  readonly #policy: RestartPolicy;
  /** The observer interval, idle time and drain timeout, in ms. */
  readonly #times: DriveTimes["timers"];
  readonly #observer: Observer;
  readonly #childCommand: readonly string[];
  #started = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** The last events, for the console's `events` (and `gearbox top`). */
  readonly #events = new EventLog();
  /** Every job run: pid, outcome, peak memory, last output (console `runs`, `run`). */
  readonly #recorder: FlightRecorder;
  #sampler: ReturnType<typeof setInterval> | undefined;
  readonly #metrics = new DriveMetrics();
  #metricsEndpoint: HttpListener | undefined;
  #report: ReportListener | undefined;
  #console: NetListener | undefined;
  /** Said at every start of a console other hosts can reach without a token (console_insecure). */
  readonly #consoleWarning: string | undefined;
  /** TLS for the servers (tls_* settings), as files: the observer's and every child's. */
  readonly #tls: TlsOptions | undefined;
  #stopping: Promise<void> | undefined;
  #resolveDone!: () => void;
  /** Resolves when the driver has stopped. */
  readonly done = new Promise<void>((r) => this.#resolveDone = r);

  constructor(options: SupervisorOptions) {
    this.#settings = options.settings;
    this.#log = options.logger;
    this.#groups = options.jobs.map((d) => new JobGroup(d));
    this.#childCommand = options.childCommand ?? [...selfCommand(), "__worker"];
    this.#consoleWarning = checkConsoleExposure(options.settings);
    const { timers, restart } = driveTimes(options.settings);
    this.#times = timers;
    this.#policy = restart;
    this.#tls = tlsClientFiles(options.settings);
    const s = options.settings;
    this.#recorder = new FlightRecorder({
      runsKept: s.runsKept,
      outputBytes: s.runOutputBytes,
      runsDir: s.runsDir,
      log: this.#log,
      onEnd: (r) => this.#metrics.runEnded(r),
    });
    this.#observer = new Observer(options.settings.server, options.logger, options.settings.unknownJobCommand, this.#tls);
  }

  /** The console's port (after start; undefined when the console is off). */
  get consolePort(): number | undefined {
    return this.#console?.port;
  }

  /** Adds a job (before or after start); throws when its name is taken or min is above max. */
  addJob(def: JobDefinition): JobGroup {
    if (this.#groups.some((g) => g.name === def.name)) throw new Error(`job ${def.name} is defined twice`);
    if (def.min > def.max) throw new Error(`job ${def.name}: min processes (${def.min}) above max (${def.max})`);
    const g = new JobGroup(def);
    this.#groups.push(g);
    if (this.#started && !this.#stopping) {
      this.#log.info("job added", { job: g.name, min: g.min, max: g.max });
      this.#reconcile(g, Date.now());
    }
    return g;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error("the driver is already started");
    this.#started = true;
    this.#report = await ReportListener.start((pid, r) => this.#onReport(pid, r));
    const s = this.#settings;
    try {
      ({ console: this.#console, metrics: this.#metricsEndpoint } = await startListeners(this, s, this.#log, this.#consoleWarning));
    } catch (e) {
      await this.#report.close();
      throw e;
    }
    this.#log.info("driver started", {
      jobs: this.#groups.map((g) => `${g.name}[${g.min}..${g.max}]`).join(" "),
      servers: s.server.join(","),
      console: this.#console ? `${this.#console.host}:${this.#console.port}` : "off",
      interval_s: s.interval,
    });
    for (const g of this.#groups) this.#reconcile(g, Date.now());
    this.#observer.start(this.#times.intervalMs, () => this.#observe());
    this.#sampler = setInterval(() => this.#recorder.sample(), RSS_SAMPLE_MS);
  }

  /** Drains: every process finishes its job (up to drain_timeout), then the driver stops. */
  stop(): Promise<void> {
    this.#stopping ??= this.#drain();
    return this.#stopping;
  }

  // ---- the console's view ----

  groups(): readonly JobGroup[] {
    return this.#groups;
  }

  groupState(g: JobGroup): string {
    return g.state(this.#policy);
  }

  setProcesses(job: string, min: number | undefined, max: number | undefined): string | undefined {
    const g = this.#groups.find((x) => x.name === job)!;
    const newMin = min ?? g.min;
    const newMax = max ?? g.max;
    if (newMin > newMax) return `min ${newMin} would be above max ${newMax}`;
    g.min = newMin;
    g.max = newMax;
    this.#log.info("processes changed from the console", { job, min: newMin, max: newMax });
    this.#event("console", job, `min ${newMin}, max ${newMax}`);
    this.#reconcile(g, Date.now());
    return undefined;
  }

  kill(pids: number[]): number[] {
    const unknown: number[] = [];
    for (const pid of pids) {
      const found = this.#processOf(pid);
      if (!found) unknown.push(pid);
      else this.#stopProcess(found.group, found.process, "killed from the console");
    }
    return unknown;
  }

  killall(jobs: string[]): string[] {
    const all = jobs.includes("*");
    const unknown = all ? [] : jobs.filter((j) => !this.#groups.some((g) => g.name === j));
    for (const g of this.#groups) {
      if (!all && !jobs.includes(g.name)) continue;
      for (const p of g.processes.values()) this.#stopProcess(g, p, "killall from the console");
    }
    return unknown;
  }

  shutdown(): void {
    this.#log.info("shutdown from the console");
    void this.stop();
  }

  statusJson(): { jobs: DriverJob[] } {
    return { jobs: this.#groups.map((g) => jobStatus(g, g.state(this.#policy), this.#waitingFor(g), Date.now())) };
  }

  events(since: number): DriverEvent[] {
    return this.#events.since(since);
  }

  metricsPage(): string {
    return this.#metrics.page(this.#groups, (g) => g.crashLooping(this.#policy));
  }

  readiness(): string {
    return this.#stopping ? "draining: the driver is stopping" : "ready";
  }

  runs(job: string, n?: number): DriverRun[] {
    return this.#recorder.runs(job, n);
  }

  run(handle: string): DriverRun | undefined {
    return this.#recorder.run(handle);
  }

  #event(kind: DriverEvent["kind"], job: string, text: string): void {
    this.#events.add(kind, job, text);
  }

  // ---- processes ----

  #start(g: JobGroup, reason: string): void {
    const spec: ChildSpec = {
      job: { ...g.def, min: g.min, max: g.max },
      servers: this.#settings.server,
      ...(this.#tls ? { tls: this.#tls } : {}),
      report: this.#report!.address,
      token: this.#report!.token,
    };
    let pid = 0;
    let handle;
    try {
      handle = spawnChild({
        argv: this.#childCommand,
        env: { GEARBOX_WORKER_SPEC: JSON.stringify(spec) },
        onStdoutLine: (line) => this.#childLine(g, pid, "stdout", line),
        onStderrLine: (line) => this.#childLine(g, pid, "stderr", line),
      });
    } catch (e) {
      this.#log.error("cannot start a worker process", { job: g.name, error: (e as Error).message });
      return;
    }
    pid = handle.pid;
    const now = Date.now();
    const p: WorkerProcess = { pid, handle, startedAt: now, state: "starting", idleSince: now, jobsDone: 0, stopRequested: false };
    g.processes.set(pid, p);
    g.started++;
    this.#log.info("process started", { job: g.name, pid, reason });
    this.#event("start", g.name, `pid ${pid} started`);
    void handle.exited.then((exit) => this.#onExit(g, p, exit));
  }

  /** A line a child wrote: logged with the handle of the job it was running, and kept with that run. */
  #childLine(g: JobGroup, pid: number, stream: "stdout" | "stderr", line: string): void {
    const handle = this.#recorder.output(pid, stream, line);
    this.#log.info(line, { job: g.name, pid, stream, ...(handle === undefined ? {} : { handle }) });
  }

  #onExit(g: JobGroup, p: WorkerProcess, exit: ChildExit): void {
    const now = Date.now();
    recordExit(this.#recorder, p.pid, exit, now);
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    const status = exit.code === null ? {} : { exit_status: exit.code };
    const delay = g.exited(p.pid, now, this.#policy);
    const lived = `${((now - p.startedAt) / 1000).toFixed(1)}s`;
    if (delay === undefined) {
      this.#log.info("process stopped", { job: g.name, pid: p.pid, how, ...status, lived });
      this.#event("stop", g.name, `pid ${p.pid} stopped (${how}) after ${lived}`);
      if (this.#stopping) return;
    } else {
      g.lasterror = now;
      g.lasterrorMsg = `process ${p.pid} died (${how}) after ${lived}`;
      this.#metrics.restarted(g.name);
      if (g.crashes === this.#policy.crashLoopAfter) this.#metrics.crashLoopEntered(g.name);
      const fields = { job: g.name, pid: p.pid, how, ...status, lived, crashes: g.crashes, restart_in_s: delay / 1000 };
      if (g.crashLooping(this.#policy)) this.#log.error("crash loop: process died again", fields);
      else this.#log.warn("process died", fields);
      this.#event(
        g.crashLooping(this.#policy) ? "crash-loop" : "died",
        g.name,
        `pid ${p.pid} died (${how}) after ${lived}; restart in ${delay / 1000} s`,
      );
      if (this.#stopping) return;
    }
    this.#later(Math.max(g.notBefore - now, 0), () => this.#reconcile(g, Date.now()));
  }

  #stopProcess(g: JobGroup, p: WorkerProcess, reason: string): void {
    if (p.stopRequested) return;
    p.stopRequested = true;
    p.state = "stopping";
    this.#log.info("stopping process", { job: g.name, pid: p.pid, reason });
    this.#event("stop", g.name, `stopping pid ${p.pid}: ${reason}`);
    p.handle.kill("SIGTERM");
  }

  #processOf(pid: number): { group: JobGroup; process: WorkerProcess } | undefined {
    for (const group of this.#groups) {
      const process = group.processes.get(pid);
      if (process) return { group, process };
    }
    return undefined;
  }

  #onReport(pid: number, r: ChildReport): void {
    const found = this.#processOf(pid);
    if (!found) return;
    recordReport(this.#recorder, found.group.name, pid, r, Date.now());
    applyReport(found.group, found.process, pid, r, Date.now(), this.#log, (k, j, t) => this.#event(k, j, t));
  }

  // ---- the observer ----

  /** After each poll of the servers: scale every job group, enforce its timeouts. */
  async #observe(): Promise<void> {
    if (this.#stopping) return;
    const waiting = await this.#observer.poll();
    if (this.#stopping) return;
    if (waiting) this.#observer.record(waiting, new Set(this.#groups.flatMap((g) => g.def.functions)));
    const now = Date.now();
    for (const g of this.#groups) {
      if (g.noteStability(now, this.#policy)) this.#log.info("job is stable again", { job: g.name });
      enforceTimeouts(g, now, this.#log, (k, j, t) => this.#event(k, j, t));
      this.#reconcile(g, now);
    }
  }

  #reconcile(g: JobGroup, now: number): void {
    if (this.#stopping) return;
    const live = [...g.processes.values()].filter((p) => !p.stopRequested);
    const decision = decideScale({
      min: g.min,
      max: g.max,
      current: live.length,
      busy: live.filter((p) => p.state === "busy").length,
      waiting: this.#waitingFor(g),
      idle: live.filter((p) => p.state === "idle").map((p) => ({ pid: p.pid, idleMs: now - p.idleSince })),
      busyPids: live.filter((p) => p.state !== "idle").map((p) => p.pid),
      maxIdleMs: this.#times.maxIdleMs,
      ...waitInputOf(g.def.targetWaitMs, this.#observer.oldestAgeFor(g.def.functions, now), g.ratePerProcess()),
    });
    if (decision.reason === "") return;
    for (const pid of decision.stop) this.#stopProcess(g, g.processes.get(pid)!, decision.reason);
    if (decision.stop.length > 0) this.#metrics.scaled(g.name, decision.reason);
    if (decision.start === 0) return;
    if (now < g.notBefore) {
      this.#log.limited(`delay:${g.name}`, 5_000, "debug", "start delayed after a crash", { job: g.name, in_ms: g.notBefore - now });
      return;
    }
    // While a job keeps crashing, one process at a time: a crash loop must not become a fork bomb.
    const n = g.crashes > 0 ? 1 : decision.start;
    this.#log.info("scaling", {
      job: g.name,
      decision: decision.reason,
      ...(decision.overMs === undefined ? {} : { over_s: Number((decision.overMs / 1000).toFixed(3)) }),
    });
    this.#event("scale", g.name, decision.reason);
    this.#metrics.scaled(g.name, decision.reason);
    for (let i = 0; i < n; i++) this.#start(g, decision.reason);
  }

  /** Jobs of the group's functions waiting on the servers, as the last poll saw them. */
  #waitingFor(g: JobGroup): number {
    return this.#observer.waitingFor(g.def.functions);
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  async #drain(): Promise<void> {
    this.#observer.stop();
    clearInterval(this.#sampler);
    for (const t of this.#timers) clearTimeout(t);
    const all = this.#groups.flatMap((g) => [...g.processes.values()].map((p) => ({ g, p })));
    this.#log.info("draining", { processes: all.length, timeout_s: this.#settings.drainTimeout });
    for (const { g, p } of all) this.#stopProcess(g, p, "driver stopping");
    const exits = Promise.all(all.map(({ p }) => p.handle.exited));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      exits.then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(true), this.#times.drainTimeoutMs)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const { g, p } of all) {
        if (!g.processes.has(p.pid)) continue;
        this.#log.warn("drain timeout: killing", { job: g.name, pid: p.pid });
        p.handle.kill("SIGKILL");
      }
      await exits;
    }
    await Promise.all([this.#console?.close(), this.#report?.close(), this.#metricsEndpoint?.close()]);
    this.#observer.close();
    this.#recorder.flush();
    this.#log.info("driver stopped");
    this.#resolveDone();
  }
}
