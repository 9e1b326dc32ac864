/**
 * Recurring schedules kept by the server (docs/schedules.md). The config
 * (or the admin) defines a schedule; the store keeps its progress: the next
 * slot and the JSON state below. When a slot falls due on the server's
 * clock, the slot's job is submitted to the core (`JobServer.submit`) and
 * the schedule's advanced row is written in the same store commit as that
 * job: either both are durable or neither, so a crash at any point neither
 * loses nor doubles a slot (the job's unique also names the slot). The
 * in-memory progress moves only once the commit succeeded; a failed commit
 * is tried again a second later.
 *
 * @module
 */
import { type JobServer, Priority } from "../core/mod.ts";
import type { Logger } from "../log/logger.ts";
import { ConfigError } from "../config/setting.ts";
import { parseSchedule, type ScheduleConfig } from "../config/serve_schedules.ts";
import { nextSlot, parseTiming, slotsBetween, type Timing } from "../schedule/timing.ts";
import type { JobStore, ScheduleRow } from "../store/job_store.ts";
import type { Clock } from "./clock.ts";
import { planSlots } from "./schedule_plan.ts";
import type { StoreWriter } from "./store_writer.ts";

/** A schedule's progress, the `state` JSON of its store row. */
export interface ScheduleState {
  /** Where `every` slots count from (when the schedule was first stored). */
  anchor: number;
  paused: boolean;
  /** In the store but no longer in the config: kept, paused, reported (docs/schedules.md). */
  orphan?: boolean;
  lastSlot?: number;
  lastJobId?: number;
  lastHandle?: string;
  /** Jobs submitted, slots dropped as missed, slots skipped for overlap, submissions the core refused. */
  fired: number;
  missed: number;
  skipped: number;
  refused: number;
  /** A slot waiting for the previous run to end (`overlap: queue`). */
  queued?: number;
  /** The definition of a schedule added at run time (`schedule add`); absent for the config's. */
  def?: ScheduleConfig;
}

/** One schedule as the runner holds it. */
export interface ScheduleEntry {
  readonly def: ScheduleConfig;
  readonly timing: Timing;
  nextSlot: number;
  state: ScheduleState;
  /** A commit of this schedule is in flight: nothing else touches it meanwhile. */
  busy: boolean;
  /** What runs once that commit is settled (a pause or resume asked meanwhile). */
  then?: () => void;
  /** The store has its row (a write must find it at {@link nextSlot}: ScheduleRow.expect). */
  stored: boolean;
  /** Slots now due passed unfired (a restart, a resume): the missed-run policy applies. */
  catchUp: boolean;
  timer: unknown;
}

export interface ScheduleDeps {
  core: JobServer;
  store: JobStore;
  writer: StoreWriter;
  clock: Clock;
  logger: Logger;
  /** Carries out the core's effects now (the slot's job reaches the writer in this turn). */
  flush(): void;
}

/** Most slots one round looks at (the rest are counted as missed in later rounds). */
const SCAN_LIMIT = 100_000;
/** How long a schedule whose commit failed waits before trying again (server's clock). */
export const SCHEDULE_RETRY_MS = 1000;
/** Told once a write is durable (undefined) or not. */
type After = (error: Error | undefined) => void;
const PRIORITIES = { high: Priority.High, normal: Priority.Normal, low: Priority.Low } as const;

/** Reads each schedule's timing; a bad one is a ConfigError naming `schedules[i]`. */
export function scheduleTimings(defs: readonly ScheduleConfig[]): Timing[] {
  return defs.map((d, i) => {
    try {
      return parseTiming({ cron: d.cron, every: d.every, zone: d.zone });
    } catch (e) {
      throw new ConfigError(`schedules[${i}] (${d.name}): ${(e as Error).message}`);
    }
  });
}

export class ScheduleRunner {
  readonly #deps: ScheduleDeps;
  readonly #defs: readonly ScheduleConfig[];
  readonly #timings: Timing[];
  readonly entries = new Map<string, ScheduleEntry>();
  /** Rows in the store whose schedule is not in the config. */
  readonly orphans = new Map<string, ScheduleRow>();
  #stopped = false;
  #poking = false;

  constructor(deps: ScheduleDeps, defs: readonly ScheduleConfig[]) {
    this.#deps = deps;
    this.#defs = defs;
    this.#timings = scheduleTimings(defs);
  }

  /** Matches the config with the stored rows; new schedules are written (their first slot is the next after now). */
  load(rows: readonly ScheduleRow[]): void {
    const now = this.#deps.clock.now();
    const stored = new Map(rows.map((r) => [r.name, r]));
    this.#defs.forEach((def, i) => {
      const row = stored.get(def.name);
      stored.delete(def.name);
      this.#enter(def, this.#timings[i]!, row, now, false, () => {});
    });
    for (const row of stored.values()) {
      const def = (JSON.parse(row.state) as ScheduleState).def; // added at run time (`schedule add`)
      const timing = def ? timingOf(def) : undefined;
      if (def && timing) this.#enter(def, timing, row, now, true, () => {});
      else this.#orphan(row);
    }
  }

  /** Holds one schedule; a new one (no row) is written, its first slot the next after now. */
  #enter(def: ScheduleConfig, timing: Timing, row: ScheduleRow | undefined, now: number, runtime: boolean, after: After): void {
    const state: ScheduleState = row ? { ...(JSON.parse(row.state) as ScheduleState), orphan: undefined } : fresh(now);
    if (runtime) state.def = def;
    const next = row?.nextSlot ?? nextSlot(timing, now, state.anchor);
    if (next === undefined) {
      this.#deps.logger.warn("schedule has no slot ahead; ignored", { schedule: def.name });
      return after(new Error(`schedule ${def.name} has no slot ahead`));
    }
    const e: ScheduleEntry = { def, timing, nextSlot: next, state, busy: false, catchUp: !!row, stored: !!row, timer: undefined };
    this.entries.set(def.name, e);
    if (!row) this.#write(e, next, state, after);
  }

  /** Admin `schedule add`: a schedule defined at run time (`item` as in the config), kept in the store across restarts. */
  add(item: unknown): Promise<void> {
    let def: ScheduleConfig;
    let timing: Timing | undefined;
    try {
      def = parseSchedule(item, "schedule add");
      timing = parseTiming({ cron: def.cron, every: def.every, zone: def.zone });
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.entries.has(def.name) || this.orphans.has(def.name)) return Promise.reject(new Error(`schedule ${def.name} exists`));
    return new Promise((resolve, reject) =>
      this.#enter(def, timing, undefined, this.#deps.clock.now(), true, (error) => {
        if (error) {
          this.entries.delete(def.name);
          return reject(error);
        }
        resolve();
      })
    );
  }

  /** Reads the stored progress (a store that keeps none refuses a config with schedules). */
  async open(store: JobStore): Promise<void> {
    if (this.#defs.length > 0 && !store.schedules) throw new ConfigError(`schedules: the store ${store.url} cannot keep schedules`);
    this.load((await store.schedules?.()) ?? []);
  }

  /** Fires what is due (catching up by each schedule's policy) and arms the timers. */
  start(): void {
    for (const e of this.entries.values()) this.#round(e);
  }

  stop(): void {
    this.#stopped = true;
    for (const e of this.entries.values()) this.#deps.clock.clearTimeout(e.timer);
  }

  /** After every flush: a queued slot whose previous run has ended is fired now. */
  poke(): void {
    if (this.#poking || this.#stopped || this.entries.size === 0) return; // every flush asks: no iterator when there is nothing
    this.#poking = true;
    try {
      for (const e of this.entries.values()) {
        if (e.state.queued === undefined || e.busy || e.state.paused || this.#previousLive(e)) continue;
        const slot = e.state.queued;
        this.#fire(e, [slot], { ...e.state, queued: undefined }, e.nextSlot, () => {});
      }
    } finally {
      this.#poking = false;
    }
  }

  /** Stops firing a schedule (kept paused across restarts); false when unknown. */
  pause(name: string): boolean {
    return this.#setPaused(name, true);
  }

  /** Fires again; slots that passed while paused are missed ones (its `missed` policy). */
  resume(name: string): boolean {
    return this.#setPaused(name, false);
  }

  /** Writes the paused flag (after a commit in flight, whose row must not be overwritten with an older one). */
  #setPaused(name: string, paused: boolean): boolean {
    const e = this.entries.get(name);
    if (!e) return false;
    if (e.busy) {
      e.then = () => void this.#setPaused(name, paused);
      return true;
    }
    this.#deps.clock.clearTimeout(e.timer);
    this.#write(e, e.nextSlot, { ...e.state, paused }, (error) => {
      if (error || paused) return;
      e.catchUp = true;
      this.#round(e);
    });
    return true;
  }

  /** Fires one job now, outside the slots (admin `schedule trigger`); resolves to its handle once durable. */
  trigger(name: string): Promise<string> {
    const e = this.entries.get(name);
    if (!e) return Promise.reject(new Error(`no schedule ${name}`));
    if (e.busy) return Promise.reject(new Error(`schedule ${name} is being written; try again`));
    const state = { ...e.state };
    return new Promise((resolve, reject) => {
      this.#fire(e, [this.#deps.clock.now()], state, e.nextSlot, (error) => {
        if (error) reject(error);
        else if (state.lastHandle === undefined) reject(new Error("the server refused the job (see the log)"));
        else resolve(state.lastHandle);
      });
    });
  }

  /** Deletes a stored schedule that is no longer in the config (admin `schedule delete`). */
  remove(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (e && !e.state.def) return Promise.reject(new Error(`schedule ${name} is in the config: remove it there, restart, then delete it`));
    if (e?.busy) return Promise.reject(new Error(`schedule ${name} is being written; try again`));
    if (!e && !this.orphans.has(name)) return Promise.reject(new Error(`no schedule ${name}`));
    if (e) this.#deps.clock.clearTimeout(e.timer), this.entries.delete(name);
    return new Promise((resolve, reject) =>
      this.#deps.writer.schedule({ drop: name }, (error) => {
        if (error) {
          if (e) this.entries.set(name, e), this.#arm(e, e.nextSlot - this.#deps.clock.now());
          return reject(error);
        }
        this.orphans.delete(name);
        resolve();
      })
    );
  }

  /** What became of the schedule's last job: persisting, scheduled, queued, running, or ended (no longer live). */
  lastOutcome(e: ScheduleEntry): string {
    if (e.state.lastJobId === undefined) return "";
    return this.#previousLive(e) ? this.#deps.core.view.jobs.get(e.state.lastJobId)!.state : "ended";
  }

  #orphan(row: ScheduleRow): void {
    const state = { ...(JSON.parse(row.state) as ScheduleState), paused: true, orphan: true };
    this.orphans.set(row.name, { ...row, state: JSON.stringify(state) });
    this.#deps.logger.warn("a stored schedule is not in the config: kept paused (delete it with `schedule delete`)", {
      schedule: row.name,
    });
  }

  /** Handles every due slot of one schedule, then arms its timer for the next. */
  #round(e: ScheduleEntry): void {
    if (this.#stopped || e.busy || e.state.paused) return;
    const now = this.#deps.clock.now();
    const { slots: due } = slotsBetween(e.timing, e.nextSlot - 1, now, e.state.anchor, SCAN_LIMIT);
    if (due.length === 0) {
      e.catchUp = false; // nothing was missed: the next slot is on time
      return this.#arm(e, e.nextSlot - now);
    }
    const next = nextSlot(e.timing, now, e.state.anchor) ?? Number.MAX_SAFE_INTEGER;
    const plan = planSlots(e.def, due, e.catchUp, this.#previousLive(e), e.state.queued);
    const state = { ...e.state, missed: e.state.missed + plan.missed, skipped: e.state.skipped + plan.skipped, queued: plan.queued };
    const catchUp = e.catchUp;
    this.#fire(e, plan.fire, state, next, (error) => {
      if (error) return;
      e.catchUp = false;
      const counts = { schedule: e.def.name, due: due.length, fired: plan.fire.length, missed: plan.missed, skipped: plan.skipped };
      if (catchUp) this.#deps.logger.info(`schedule caught up (missed: ${e.def.missed})`, counts);
      else if (plan.skipped > 0 || plan.missed > 0) this.#deps.logger.warn(`schedule slots dropped (overlap: ${e.def.overlap})`, counts);
    });
  }

  /** Submits the slots' jobs and writes the advanced row in the same commit; memory follows once it is durable. */
  #fire(e: ScheduleEntry, slots: readonly number[], state: ScheduleState, next: number, after: After): void {
    const { core, clock, logger } = this.#deps;
    const now = clock.now();
    e.busy = true; // the flush below pokes: this schedule is not to be fired twice meanwhile
    const jobs: number[] = [];
    for (const slot of slots) {
      const render = (t: string) =>
        t.replaceAll("NAME", e.def.name).replaceAll("SLOT_ISO", new Date(slot).toISOString()).replaceAll("SLOT_MS", String(slot));
      const data = new TextEncoder().encode(render(e.def.workload));
      const r = core.submit({ function: e.def.function, unique: render(e.def.unique), data, priority: PRIORITIES[e.def.priority] }, now);
      if ("refused" in r) {
        state.refused++;
        logger.warn("schedule slot refused by the server", {
          schedule: e.def.name,
          slot: new Date(slot).toISOString(),
          error: r.refused,
          reason: r.text,
        });
        continue;
      }
      if (r.created) jobs.push(r.id); // else: it coalesced with the slot's live job (same unique)
      Object.assign(state, { lastSlot: slot, lastJobId: r.id, lastHandle: r.handle, fired: state.fired + (r.created ? 1 : 0) });
      logger.debug("schedule fired", { schedule: e.def.name, slot: new Date(slot).toISOString(), handle: r.handle });
    }
    this.#deps.flush(); // the jobs' persist effects join the writer's next batch, with the row below
    this.#write(e, next, state, after, jobs);
  }

  #write(e: ScheduleEntry, next: number, state: ScheduleState, after: After, jobs: number[] = []): void {
    e.busy = true;
    const write = { name: e.def.name, nextSlot: next, state: JSON.stringify(state), expect: e.stored ? e.nextSlot : undefined, jobs };
    this.#deps.writer.schedule({ write }, (error, lost) => {
      if (lost) {
        return void this.#reload(e).then(() => this.#settle(e, after, new Error("another node changed this schedule first; try again")));
      }
      e.busy = false;
      if (error) {
        this.#deps.logger.warn("schedule not advanced: the store refused the commit; trying again", {
          schedule: e.def.name,
          error: error.message,
        });
        this.#arm(e, SCHEDULE_RETRY_MS);
        return this.#settle(e, after, error);
      }
      e.nextSlot = next;
      e.state = state;
      e.stored = true;
      if (!state.paused) this.#arm(e, next - this.#deps.clock.now());
      this.#settle(e, after, undefined);
    });
  }

  /** A write's outcome told; then what waited for it (a pause or resume asked meanwhile). */
  #settle(e: ScheduleEntry, after: After, error: Error | undefined): void {
    after(error);
    const then = e.then;
    e.then = undefined;
    then?.();
  }

  /** Another node moved the row first (it fired those slots): take its progress from the store. */
  async #reload(e: ScheduleEntry): Promise<void> {
    try {
      const row = (await this.#deps.store.schedules!()).find((r) => r.name === e.def.name);
      if (row) Object.assign(e, { nextSlot: row.nextSlot, state: JSON.parse(row.state) as ScheduleState, stored: true, catchUp: false });
      this.#deps.logger.debug("another node fired this schedule's slot", {
        schedule: e.def.name,
        next: new Date(e.nextSlot).toISOString(),
      });
    } catch (err) {
      this.#deps.logger.warn("schedule not reread from the store; trying again", { schedule: e.def.name, error: (err as Error).message });
    }
    e.busy = false;
    this.#arm(e, e.nextSlot - this.#deps.clock.now());
  }

  #arm(e: ScheduleEntry, ms: number): void {
    if (this.#stopped || this.entries.get(e.def.name) !== e) return; // stopped, or deleted (`schedule delete`, a failed add)
    this.#deps.clock.clearTimeout(e.timer);
    e.timer = this.#deps.clock.setTimeout(() => this.#round(e), Math.max(0, ms));
  }

  /** The schedule's last job is still persisting, scheduled, queued or running. */
  #previousLive(e: ScheduleEntry): boolean {
    const id = e.state.lastJobId;
    if (id === undefined) return false;
    const job = this.#deps.core.view.jobs.get(id);
    return job !== undefined && job.state !== "done" && job.handle === e.state.lastHandle;
  }
}

/** A stored run-time schedule's timing, or undefined when it no longer parses (it is kept as an orphan). */
function timingOf(def: ScheduleConfig): Timing | undefined {
  try {
    return parseTiming({ cron: def.cron, every: def.every, zone: def.zone });
  } catch {
    return undefined;
  }
}

function fresh(now: number): ScheduleState {
  return { anchor: now, paused: false, fired: 0, missed: 0, skipped: 0, refused: 0 };
}
