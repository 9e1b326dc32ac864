/**
 * `gearbox top`'s state as a pure reducer: what the pollers saw (servers,
 * drivers, events, the selected function's detail) and what the person is
 * doing (panel, selection, filter, sort, help, the last action's result).
 * Selectors derive the rows each panel shows. No I/O, no clock: time comes
 * in with the actions.
 *
 * @module
 */
import type { NodeInfo, ScheduleInfo } from "../src/client/admin_client.ts";
import type { DriverEvent, DriverJob, DriverRun } from "../src/client/driver_console.ts";

/** What the queues panel counts for a function; optional fields only some servers tell. */
export interface QueueCounts {
  function: string;
  queued: number;
  running: number;
  workers: number;
  high?: number;
  normal?: number;
  low?: number;
  scheduled?: number;
  dead?: number;
}

/** One function on one server. Optional fields are gearbox-only (`functions`). */
export interface QueueRow extends QueueCounts {
  completed?: number;
  failed?: number;
  oldestQueuedAt?: number;
}

export interface ServerView {
  address: string;
  up: boolean;
  error?: string;
  /** When this view was read. */
  at: number;
  /** The server answered gearbox's `functions` (so detail, rates, dead counts exist). */
  gearbox: boolean;
  rows: QueueRow[];
  /** gearbox's `nodes` (its cluster, or itself alone); absent where the server has no such command (gearmand). */
  nodes?: NodeInfo[];
  /** When `nodes` was read (it is read less often than the queues); `at` when absent. */
  nodesAt?: number;
  /** gearbox's `schedule list`; absent where the server has none to tell (gearmand, an older gearbox). */
  schedules?: ScheduleInfo[];
}

export interface DriverView {
  address: string;
  up: boolean;
  error?: string;
  at: number;
  jobs: DriverJob[];
}

/** A failure or a scheduled job of the selected function. */
export interface Detail {
  function: string;
  failures: { handle: string; at: number; message: string }[];
  scheduled: { handle: string; runAt: number }[];
  /** The last runs of the driver jobs that serve the function (their flight recorders), newest first. */
  runs?: DriverRun[];
  error?: string;
}

export type Panel = "queues" | "processes" | "events";
export const PANELS: readonly Panel[] = ["queues", "processes", "events"];
export type SortKey = "name" | "queued" | "running" | "rate";
export const SORTS: readonly SortKey[] = ["name", "queued", "running", "rate"];

/** Samples of throughput kept per function (the sparkline's width). */
export const HISTORY = 30;
/** Events kept. */
export const MAX_EVENTS = 200;

export interface State {
  servers: ServerView[];
  drivers: DriverView[];
  events: (DriverEvent & { driver: string })[];
  /** Per function: last completed+failed total and when, and jobs/s samples. */
  throughput: Record<string, { total: number; at: number; samples: number[] }>;
  detail: Detail | undefined;
  showDetail: boolean;
  panel: Panel;
  selected: Record<Panel, number>;
  filter: string;
  editingFilter: boolean;
  sort: SortKey;
  help: boolean;
  status: { text: string; error: boolean; at: number } | undefined;
  readOnly: boolean;
  width: number;
  height: number;
  /** Refresh interval in ms: data older than 3 intervals is stale. */
  intervalMs: number;
  now: number;
}

export function initialState(options: { readOnly: boolean; width: number; height: number; intervalMs: number; now: number }): State {
  return {
    servers: [],
    drivers: [],
    events: [],
    throughput: {},
    detail: undefined,
    showDetail: false,
    panel: "queues",
    selected: { queues: 0, processes: 0, events: 0 },
    filter: "",
    editingFilter: false,
    sort: "name",
    help: false,
    status: undefined,
    ...options,
  };
}

export type Action =
  | { type: "servers"; servers: ServerView[]; now: number }
  | { type: "drivers"; drivers: DriverView[]; now: number }
  | { type: "events"; driver: string; events: DriverEvent[] }
  | { type: "detail"; detail: Detail }
  | { type: "move"; delta: number }
  | { type: "panel"; step: 1 | -1 }
  | { type: "toggleDetail" }
  | { type: "filterStart" }
  | { type: "filterType"; text: string }
  | { type: "filterBackspace" }
  | { type: "filterEnd"; keep: boolean }
  | { type: "sort" }
  | { type: "help" }
  | { type: "status"; text: string; error: boolean; now: number }
  | { type: "resize"; width: number; height: number }
  | { type: "tick"; now: number };

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "servers":
      return clampSelection({
        ...state,
        servers: action.servers,
        throughput: nextThroughput(state.throughput, action.servers, action.now),
        now: action.now,
      });
    case "drivers":
      return clampSelection({ ...state, drivers: action.drivers, now: action.now });
    case "events": {
      if (action.events.length === 0) return state;
      const events = [...state.events, ...action.events.map((e) => ({ ...e, driver: action.driver }))].slice(-MAX_EVENTS);
      return { ...state, events };
    }
    case "detail":
      return { ...state, detail: action.detail };
    case "move": {
      const n = panelLength(state, state.panel);
      const at = Math.min(Math.max(state.selected[state.panel] + action.delta, 0), Math.max(n - 1, 0));
      return { ...state, selected: { ...state.selected, [state.panel]: at } };
    }
    case "panel": {
      const i = PANELS.indexOf(state.panel);
      return { ...state, panel: PANELS[(i + action.step + PANELS.length) % PANELS.length]! };
    }
    case "toggleDetail":
      return { ...state, showDetail: !state.showDetail };
    case "filterStart":
      return { ...state, editingFilter: true };
    case "filterType":
      return clampSelection({ ...state, filter: state.filter + action.text, selected: { ...state.selected, queues: 0, processes: 0 } });
    case "filterBackspace":
      return clampSelection({ ...state, filter: state.filter.slice(0, -1) });
    case "filterEnd":
      return clampSelection({ ...state, editingFilter: false, filter: action.keep ? state.filter : "" });
    case "sort":
      return { ...state, sort: SORTS[(SORTS.indexOf(state.sort) + 1) % SORTS.length]! };
    case "help":
      return { ...state, help: !state.help };
    case "status":
      return { ...state, status: { text: action.text, error: action.error, at: action.now } };
    case "resize":
      return { ...state, width: action.width, height: action.height };
    case "tick":
      return { ...state, now: action.now };
  }
}

function nextThroughput(prev: State["throughput"], servers: ServerView[], now: number): State["throughput"] {
  const totals = new Map<string, number>();
  for (const s of servers) {
    if (!s.up || !s.gearbox) continue;
    for (const r of s.rows) totals.set(r.function, (totals.get(r.function) ?? 0) + (r.completed ?? 0) + (r.failed ?? 0));
  }
  const out: State["throughput"] = {};
  for (const [fn, total] of totals) {
    const p = prev[fn];
    if (!p) {
      out[fn] = { total, at: now, samples: [] };
      continue;
    }
    const dt = (now - p.at) / 1000;
    // A restarted server starts its counters again: a drop is no negative rate.
    const rate = dt > 0 ? Math.max(total - p.total, 0) / dt : 0;
    out[fn] = { total, at: now, samples: [...p.samples, rate].slice(-HISTORY) };
  }
  return out;
}

/** One function over every server, as the queues panel shows it. */
export interface FunctionTotals extends QueueCounts {
  oldestAgeMs?: number;
  rate?: number;
  samples: number[];
}

function add(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

function matches(state: State, name: string): boolean {
  return state.filter === "" || name.toLowerCase().includes(state.filter.toLowerCase());
}

export function queueRows(state: State): FunctionTotals[] {
  const byFn = new Map<string, FunctionTotals>();
  for (const s of state.servers) {
    if (!s.up) continue;
    for (const r of s.rows) {
      if (!matches(state, r.function)) continue;
      const t = byFn.get(r.function) ?? { function: r.function, queued: 0, running: 0, workers: 0, samples: [] };
      t.queued += r.queued;
      t.running += r.running;
      t.workers += r.workers;
      t.high = add(t.high, r.high);
      t.normal = add(t.normal, r.normal);
      t.low = add(t.low, r.low);
      t.scheduled = add(t.scheduled, r.scheduled);
      t.dead = add(t.dead, r.dead);
      if (r.oldestQueuedAt) t.oldestAgeMs = Math.max(t.oldestAgeMs ?? 0, state.now - r.oldestQueuedAt);
      byFn.set(r.function, t);
    }
  }
  const rows = [...byFn.values()];
  for (const r of rows) {
    const tp = state.throughput[r.function];
    if (tp) {
      r.samples = tp.samples;
      r.rate = tp.samples.at(-1);
    }
  }
  const by: Record<SortKey, (a: FunctionTotals, b: FunctionTotals) => number> = {
    name: (a, b) => (a.function < b.function ? -1 : a.function > b.function ? 1 : 0),
    queued: (a, b) => b.queued - a.queued,
    running: (a, b) => b.running - a.running,
    rate: (a, b) => (b.rate ?? 0) - (a.rate ?? 0),
  };
  return rows.sort((a, b) => by[state.sort](a, b) || by.name(a, b));
}

/** The processes panel: each job, then its processes. */
export type ProcessItem =
  | { kind: "job"; driver: string; job: DriverJob }
  | { kind: "process"; driver: string; job: DriverJob; process: DriverJob["processes"][number] };

export function processItems(state: State): ProcessItem[] {
  const out: ProcessItem[] = [];
  for (const d of state.drivers) {
    if (!d.up) continue;
    for (const job of d.jobs) {
      if (!matches(state, job.name) && !job.functions.some((f) => matches(state, f))) continue;
      out.push({ kind: "job", driver: d.address, job });
      for (const process of job.processes) out.push({ kind: "process", driver: d.address, job, process });
    }
  }
  return out;
}

function panelLength(state: State, panel: Panel): number {
  return panel === "queues" ? queueRows(state).length : panel === "processes" ? processItems(state).length : state.events.length;
}

function clampSelection(state: State): State {
  const selected = { ...state.selected };
  for (const p of PANELS) selected[p] = Math.min(selected[p], Math.max(panelLength(state, p) - 1, 0));
  return { ...state, selected };
}

/** The function selected in the queues panel. */
export function selectedFunction(state: State): string | undefined {
  return queueRows(state)[state.selected.queues]?.function;
}

/** The job (and process, if one is selected) in the processes panel. */
export function selectedProcessItem(state: State): ProcessItem | undefined {
  return processItems(state)[state.selected.processes];
}

/** True when a view is older than three refresh intervals. */
export function stale(state: State, at: number): boolean {
  return state.now - at > 3 * state.intervalMs;
}

/** A node as the nodes panel shows it: its heartbeat aged to now, and the totals of the watched server at its address. */
export interface NodeItem extends NodeInfo {
  totals?: { queued: number; running: number; workers: number };
}

/**
 * The nodes panel's rows: every node any live server listed, once (by id and
 * address: the nodes of one cluster list the same rows), sorted by id.
 * Undefined, so the panel hides, when no server knows `nodes` (gearmand), or
 * when one server alone lists only itself (nothing to add to the queues).
 */
export function nodeRows(state: State): NodeItem[] | undefined {
  const byKey = new Map<string, NodeItem>();
  let known = false;
  for (const s of state.servers) {
    if (!s.up || !s.nodes) continue;
    known = true;
    for (const n of s.nodes) {
      const key = `${n.node}\t${n.address}`;
      if (!byKey.has(key)) byKey.set(key, { ...n, heartbeatAgeMs: n.heartbeatAgeMs + Math.max(state.now - (s.nodesAt ?? s.at), 0) });
    }
  }
  if (!known || (byKey.size <= 1 && state.servers.length <= 1)) return undefined;
  const totals = serverTotals(state);
  const rows = [...byKey.values()].map((n) => ({ ...n, totals: totals.get(n.address) }));
  return rows.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Queued, running and workers summed over each live server's functions, by address. */
export function serverTotals(state: State): Map<string, { queued: number; running: number; workers: number }> {
  const out = new Map<string, { queued: number; running: number; workers: number }>();
  for (const s of state.servers) {
    if (!s.up) continue;
    out.set(
      s.address,
      s.rows.reduce((t, r) => ({ queued: t.queued + r.queued, running: t.running + r.running, workers: t.workers + r.workers }), {
        queued: 0,
        running: 0,
        workers: 0,
      }),
    );
  }
  return out;
}

/**
 * The schedules panel's rows: every schedule any live server listed, once by
 * name (the nodes of a cluster share them; the row whose last run is latest
 * wins), sorted by name. Undefined, so the panel hides, when none has any.
 */
export function scheduleRows(state: State): ScheduleInfo[] | undefined {
  const byName = new Map<string, ScheduleInfo>();
  for (const s of state.servers) {
    if (!s.up) continue;
    for (const r of s.schedules ?? []) {
      const seen = byName.get(r.name);
      if (!seen || r.lastRun > seen.lastRun) byName.set(r.name, r);
    }
  }
  if (byName.size === 0) return undefined;
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
