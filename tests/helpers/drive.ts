/**
 * Helpers for the `gearbox drive` suites: start the compiled driver with a
 * config, talk to its console, wait for a job's state.
 */
import assert from "node:assert/strict";
import { after } from "node:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AdminSession } from "../../src/client/admin_session.ts";
import type { Client } from "../../mod.ts";
import { type Peers } from "./peers.ts";
import { gearboxCommand, type RunningServer } from "./servers.ts";
import { waitUntil } from "./wait.ts";

/** One console command (after `auth TOKEN` when given); resolves with its reply lines before the closing `.`. */
/**
 * Closes, once after the describe block it is called in, what its drive tests opened: the
 * client, every peer (drivers and workers), the server and the temporary directory. `what` is
 * read then, so the block's variables may be assigned by its tests.
 */
export function cleanUpAfter(what: () => { client?: Client; peers: Peers; server?: RunningServer; dir?: string }): void {
  after(async () => {
    const { client, peers, server, dir } = what();
    client?.close();
    await peers.killAll();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}

export async function consoleCommand(port: number, command: string, token?: string): Promise<string[]> {
  const session = await AdminSession.open(`127.0.0.1:${port}`);
  try {
    if (token !== undefined) await session.block(`auth ${token}`);
    return await session.block(command);
  } finally {
    session.close();
  }
}

export interface JobStatus {
  name: string;
  min: number;
  max: number;
  current: number;
  state: string;
  lastrun: number;
  lasterror: number;
  lasterror_msg: string;
  processes: { pid: number; state: string }[];
}

export async function jobStatus(port: number, job: string): Promise<JobStatus> {
  const [line] = await consoleCommand(port, "status json");
  const found = (JSON.parse(line!) as { jobs: JobStatus[] }).jobs.find((j) => j.name === job);
  assert.ok(found, `job ${job} in status json`);
  return found;
}

export async function waitForJob(
  port: number,
  job: string,
  what: string,
  pred: (s: JobStatus) => boolean,
  timeoutMs = 15_000,
): Promise<JobStatus> {
  let last: JobStatus | undefined;
  await waitUntil(
    `${job}: ${what}`,
    async () => {
      last = await jobStatus(port, job);
      return pred(last) || JSON.stringify({ current: last.current, state: last.state, processes: last.processes });
    },
    timeoutMs,
    100,
  );
  return last!;
}

/**
 * Starts `gearbox drive` with fast test settings (over which `extra` wins),
 * plus extra flags. The console listens on a free port the driver picks
 * (`console_port: auto`), read from its "driver started" log line; 0 when
 * the console is off.
 */
export async function startDriver(peers: Peers, server: RunningServer, dir: string, extra: Record<string, unknown>, flags: string[] = []) {
  const logfile = join(dir, "drive.log");
  const config = join(dir, "drive.json.yaml");
  writeFileSync(
    config,
    JSON.stringify({
      server: [`127.0.0.1:${server.port}`],
      interval: 0.2,
      max_idle_time: 1.5,
      console_port: "auto",
      logfile,
      loglevel: "debug",
      restart_delay: 0.2,
      restart_delay_max: 1,
      crash_loop_after: 3,
      stable_after: 5,
      drain_timeout: 10,
      ...extra,
    }),
  );
  // Suites start several drivers with one logfile: only this driver's lines count.
  const before = existsSync(logfile) ? readFileSync(logfile, "utf8").length : 0;
  const [bin, ...pre] = gearboxCommand();
  const driver = peers.start(bin!, [...pre, "drive", "--config", config, ...flags], { lifetimeMs: 120_000 });
  let consolePort = 0;
  await waitUntil(
    "the driver has started",
    () => {
      if (!driver.running) throw new Error(`the driver exited: ${driver.stderr}`);
      const m = /driver started .*console="(?:[^"]*:(\d+)|off)"/.exec(
        existsSync(logfile) ? readFileSync(logfile, "utf8").slice(before) : "",
      );
      if (!m) return false;
      consolePort = m[1] === undefined ? 0 : Number(m[1]);
      return true;
    },
    15_000,
    50,
  );
  return { driver, consolePort, logfile, log: () => readFileSync(logfile, "utf8") };
}
