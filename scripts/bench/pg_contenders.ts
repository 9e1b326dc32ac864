/**
 * The contenders of the PostgreSQL comparison (postgres_compare.ts), each
 * enqueuing the same jobs (100-byte payloads, batches of 1000, one producer)
 * into its own database of the same server, in its fastest documented batch form:
 *
 * - gearbox: `dist/gearbox serve --store postgres://...` fed by libgearman's
 *   loadgen (`bgsubmit`: pipelined SUBMIT_JOB_BG, a job counts when its
 *   JOB_CREATED arrives, which gearbox sends only after COMMIT), and fed by
 *   its own TypeScript library (`submitMultipleJobs`) from this process;
 * - pg-boss 12: `boss.insert(queue, jobs[])` (one statement per batch);
 * - graphile-worker 0.18: `workerUtils.addJobs(specs[])` (one call of its
 *   `add_jobs` function per batch);
 * - the runtime floor: pg_floor_server.ts, a bare Bun server doing gearbox's
 *   part of the work and nothing else, fed by the same loadgen.
 *
 * Each `prepare` does the untimed setup (start, migrate) and gives the timed
 * `run` and the `close`.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { cpuSeconds } from "./proc_cpu.ts";
import { ALLOCATOR_SETTINGS } from "../../src/runtime/allocator.ts";
import { freePort, waitForPort } from "../../tests/helpers/free_port.ts";

export interface Load {
  jobs: number;
  batch: number;
  size: number;
  /**
   * Jobs each contender enqueues untimed in its `prepare` (numbered after the
   * timed ones), so that every one is measured warm: the libraries run in
   * this process, warm from the rounds before, while each round starts a
   * new gearbox whose JIT would otherwise compile on the clock.
   */
  warm?: number;
}

export interface RunResult {
  jobs: number;
  seconds: number;
  /** CPU seconds of the producer side: the gearbox server, or this process for the libraries. */
  appCpu: number;
  /** CPU seconds of the Gearman client (loadgen) feeding a server; absent for the libraries, whose producer is their client. */
  clientCpu?: number;
}

export interface Prepared {
  run(): Promise<RunResult>;
  close(): Promise<void>;
}

export interface Contender {
  name: string;
  prepare(url: string, load: Load): Promise<Prepared>;
}

const ROOT = new URL("../../", import.meta.url).pathname;
export const LOADGEN = join(ROOT, "scripts/bench/build/loadgen");

/** This process's CPU seconds. */
function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Runs `batches` awaited calls of `send`, timing them and this process's CPU. */
async function timed(load: Load, send: (first: number, count: number) => Promise<unknown>): Promise<RunResult> {
  const cpu0 = ownCpu();
  const t0 = performance.now();
  for (let i = 0; i < load.jobs; i += load.batch) await send(i, Math.min(load.batch, load.jobs - i));
  return { jobs: load.jobs, seconds: (performance.now() - t0) / 1000, appCpu: ownCpu() - cpu0 };
}

/** Enqueues the load's untimed warm-up jobs through `send`. */
async function warmUp(load: Load, send: (first: number, count: number) => Promise<unknown>): Promise<void> {
  const warm = load.warm ?? 0;
  for (let i = 0; i < warm; i += load.batch) await send(load.jobs + i, Math.min(load.batch, warm - i));
}

/** A `dist/gearbox serve` on the PostgreSQL database at `url`, listening on a free port. */
export interface GearboxProcess {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `dist/gearbox serve --store url` with `extra` flags and waits until it listens. */
export function startGearbox(url: string, extra: string[] = []): Promise<GearboxProcess> {
  return startServer(
    join(ROOT, "dist/gearbox"),
    (port) => ["serve", "--port", port, "--listen", "127.0.0.1", "--store", url, "--log-level", "warn", ...extra],
  );
}

/** `command` with `args(port)` on a free port, once it accepts connections. */
async function startServer(command: string, args: (port: string) => string[], env = process.env): Promise<GearboxProcess> {
  const port = await freePort();
  const server: ChildProcess = spawn(command, args(String(port)), { stdio: ["ignore", "ignore", "inherit"], env });
  const stop = async () => {
    server.kill("SIGTERM");
    if (server.exitCode === null && server.signalCode === null) await new Promise((r) => server.once("exit", r));
  };
  try {
    await waitForPort(port);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, pid: server.pid!, stop };
}

/** One loadgen bgsubmit run: jobs acknowledged, its own timing, and when it exited (`performance.now()` ms). */
export interface BgSubmit {
  jobs: number;
  seconds: number;
  exitedAt: number;
  /** loadgen's CPU seconds (user + system), start-up included. */
  clientCpu: number;
}

/** Runs `loadgen bgsubmit` (no workers) against the server on `port`. */
export async function bgsubmit(port: number, load: Load): Promise<BgSubmit> {
  const args = ["bgsubmit", "--port", String(port), "--workers", "0", "--jobs", String(load.jobs), "--seconds", "300"];
  const out = await new Promise<string>((resolve, reject) => {
    // Through bash, whose `times` then prints loadgen's CPU (the children's line) after loadgen's own output.
    const script = 'rc=0; "$0" "$@" || rc=$?; times; exit $rc';
    const child = spawn("bash", ["-c", script, LOADGEN, ...args, "--batch", String(load.batch), "--size", String(load.size)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout!.on("data", (d) => (text += d));
    child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`loadgen exited with ${code}: ${text}`))));
  });
  const exitedAt = performance.now();
  const jobs = Number(/ jobs=(\d+)/.exec(out)?.[1] ?? 0);
  const seconds = Number(/ seconds=([\d.]+)/.exec(out)?.[1] ?? 0);
  const times = [...out.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { jobs, seconds, exitedAt, clientCpu: (times[2] ?? 0) + (times[3] ?? 0) };
}

export const gearbox = loadgenContender("gearbox (dist/gearbox, loadgen bgsubmit)", (url) => startGearbox(url));

/**
 * The runtime's floor for the same work (pg_floor_server.ts): a bare Bun server that COPYs each
 * SUBMIT_JOB_BG into gearbox's table through the same driver and acknowledges after the commit,
 * fed by the same loadgen. `tables` makes gearbox's tables in its database first.
 */
export function runtimeFloor(tables: (url: string) => Promise<void>): Contender {
  return loadgenContender("runtime floor (pg_floor_server.ts on Bun, loadgen bgsubmit)", async (url) => {
    await tables(url);
    // With the allocator settings gearbox serve gives itself: the same runtime.
    const args = (port: string) => [join(ROOT, "scripts/bench/pg_floor_server.ts"), "--port", port, "--store", url];
    return startServer(process.execPath, args, { ...process.env, ...ALLOCATOR_SETTINGS });
  });
}

/** A server `start`ed on the database, fed by `loadgen bgsubmit`; the producer CPU is the server's. */
function loadgenContender(name: string, start: (url: string) => Promise<GearboxProcess>): Contender {
  return {
    name,
    async prepare(url, load) {
      const server = await start(url);
      if (load.warm) await bgsubmit(server.port, { ...load, jobs: load.warm });
      return {
        async run() {
          const cpu0 = cpuSeconds([server.pid]);
          const r = await bgsubmit(server.port, load);
          return { jobs: r.jobs, seconds: r.seconds, appCpu: cpuSeconds([server.pid]) - cpu0, clientCpu: r.clientCpu };
        },
        close: () => server.stop(),
      };
    },
  };
}

/**
 * gearbox fed by its own TypeScript library, as a TypeScript user would submit:
 * `client.submitMultipleJobs` of 1,000 background jobs (each with a unique, as
 * libgearman's), awaited in turn, in this process. Producer CPU is the server's;
 * client CPU is this process's (the library).
 */
export const gearboxLibrary: Contender = {
  name: "gearbox (dist/gearbox, the TypeScript library's submitMultipleJobs)",
  async prepare(url, load) {
    const server = await startGearbox(url);
    const { Client } = await import("../../mod.ts");
    const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    const payload = "x".repeat(load.size);
    const tag = `lib${process.pid}-${Date.now()}`;
    const send = async (first: number, count: number) => {
      const jobs = Array.from(
        { length: count },
        (_, k) => ({ function: "bench", data: payload, unique: `${tag}-${first + k}`, background: true }),
      );
      const done = await client.submitMultipleJobs(jobs, { waitUntilComplete: false });
      const lost = done.find((r) => r.state !== "CREATED");
      if (lost) throw new Error(`a submission was not acknowledged: ${lost.state} ${lost.error?.message ?? ""}`);
    };
    await warmUp(load, send);
    return {
      async run() {
        const cpu0 = cpuSeconds([server.pid]);
        const r = await timed(load, send);
        return { ...r, appCpu: cpuSeconds([server.pid]) - cpu0, clientCpu: r.appCpu };
      },
      async close() {
        client.close();
        await server.stop();
      },
    };
  },
};

export const pgBoss: Contender = {
  name: "pg-boss 12 (boss.insert)",
  async prepare(url, load) {
    const { PgBoss } = await import("pg-boss");
    const boss = new PgBoss(url);
    boss.on("error", (e: unknown) => console.error("pg-boss:", e));
    await boss.start();
    await boss.createQueue("bench");
    const payload = "x".repeat(load.size);
    const send = (first: number, count: number) =>
      boss.insert("bench", Array.from({ length: count }, (_, k) => ({ data: { p: payload, n: first + k } })));
    await warmUp(load, send);
    return {
      run: () => timed(load, send),
      close: () => boss.stop({ graceful: false }),
    };
  },
};

/**
 * graphile-worker's `addJobs`; `keyed`: each job with a `jobKey` of its own,
 * the same jobs as gearbox's (a libgearman background job always carries a
 * unique, and gearbox keeps a live unique on one job of the cluster).
 */
function graphileWorkerWith(keyed: boolean): Contender {
  return {
    name: keyed ? "graphile-worker 0.18 (addJobs, a jobKey per job)" : "graphile-worker 0.18 (addJobs)",
    async prepare(url, load) {
      const { makeWorkerUtils } = await import("graphile-worker");
      const utils = await makeWorkerUtils({ connectionString: url });
      await utils.migrate();
      const payload = "x".repeat(load.size);
      const spec = (n: number) => ({ identifier: "bench", payload: { p: payload, n }, ...(keyed ? { jobKey: `bench-${n}` } : {}) });
      const send = (first: number, count: number) => utils.addJobs(Array.from({ length: count }, (_, k) => spec(first + k)));
      await warmUp(load, send);
      return {
        run: () => timed(load, send),
        close: async () => await utils.release(),
      };
    },
  };
}

export const graphileWorker = graphileWorkerWith(false);
export const graphileWorkerKeyed = graphileWorkerWith(true);
