/**
 * Starts the servers the socket and interop suites run against, each on a
 * free loopback port: gearbox (the compiled binary when built, else the
 * sources under Bun) and Debian's gearmand, the reference.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort, waitForPort } from "./free_port.ts";

/** Options every target understands; each start function translates them. */
export interface ServerOptions {
  jobRetries?: number;
  workerWakeup?: number;
  exceptions?: boolean;
  roundRobin?: boolean;
  /** Listen on this port instead of a free one (to restart a server where it was). */
  port?: number;
  /** Raw extra arguments for this server only. */
  extra?: string[];
}

export interface RunningServer {
  readonly name: "gearbox" | "gearmand" | "perl-gearmand";
  readonly port: number;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BINARY = `${ROOT}dist/gearbox`;
const BUN = `${ROOT}node_modules/.bin/bun`;

/** Command that runs gearbox: the compiled binary if present, else the sources. */
export function gearboxCommand(): string[] {
  if (process.env.GEARBOX_FROM_SOURCE !== "1" && existsSync(BINARY)) return [BINARY];
  return [existsSync(BUN) ? BUN : "bun", `${ROOT}src/cli/main.ts`];
}

/** True when Debian's gearmand is installed here. */
export const HAVE_GEARMAND = existsSync("/usr/sbin/gearmand");

async function launch(name: RunningServer["name"], cmd: string[], port: number): Promise<RunningServer> {
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await Promise.race([
      waitForPort(port, 15_000),
      exited.then((code) => {
        throw new Error(`${name} exited with ${code} before listening: ${err}`);
      }),
    ]);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return {
    name,
    port,
    pid: child.pid!,
    process: child,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Starts `gearbox serve` on a free port with the memory store. */
export async function startGearbox(options: ServerOptions = {}): Promise<RunningServer> {
  const port = options.port ?? await freePort();
  const args = ["serve", "--port", String(port), "--listen", "127.0.0.1", "--store", "memory:", "--log-level", "warn"];
  if (options.jobRetries !== undefined) args.push("--job-retries", String(options.jobRetries));
  if (options.workerWakeup !== undefined) args.push("--wakeup", String(options.workerWakeup));
  if (options.exceptions) args.push("--exceptions");
  if (options.roundRobin) args.push("--round-robin");
  args.push(...(options.extra ?? []));
  return await launch("gearbox", [...gearboxCommand(), ...args], port);
}

/** Starts Debian's gearmand (in-memory queue, no threads) on a free port. */
export async function startGearmand(options: ServerOptions = {}): Promise<RunningServer> {
  const port = options.port ?? await freePort();
  const args = [`--port=${port}`, "--listen=127.0.0.1", "--threads=0", "--log-file=none", "--verbose=ERROR"];
  if (options.jobRetries !== undefined) args.push(`--job-retries=${options.jobRetries}`);
  if (options.workerWakeup !== undefined) args.push(`--worker-wakeup=${options.workerWakeup}`);
  if (options.exceptions) args.push("--exceptions");
  if (options.roundRobin) args.push("--round-robin");
  args.push(...(options.extra ?? []));
  return await launch("gearmand", ["/usr/sbin/gearmand", ...args], port);
}

/** True when Perl's Gearman::Server (Debian's gearman-server, /usr/bin/gearmand) is installed. */
export const HAVE_PERL_GEARMAND = (() => {
  try {
    return readFileSync("/usr/bin/gearmand", "latin1").startsWith("#!/usr/bin/perl");
  } catch {
    return false;
  }
})();

/** Starts Perl's Gearman::Server on a free port. */
export async function startPerlGearmand(): Promise<RunningServer> {
  const port = await freePort();
  return await launch("perl-gearmand", ["perl", "/usr/bin/gearmand", "-p", String(port), "-L", "127.0.0.1"], port);
}

/** The targets a conformance or interop suite runs against. */
/** Set GEARBOX_TEST_TARGETS=gearmand (comma list) to run against some targets only. */
const only = process.env.GEARBOX_TEST_TARGETS?.split(",").map((s) => s.trim()).filter(Boolean);
export const TARGETS: { name: RunningServer["name"]; available: boolean; start: (o?: ServerOptions) => Promise<RunningServer> }[] = [
  { name: "gearbox" as const, available: true, start: startGearbox },
  { name: "gearmand" as const, available: HAVE_GEARMAND, start: startGearmand },
].filter((t) => !only || only.includes(t.name));

/** True when a command is on PATH. */
export function haveCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/**
 * A `gearbox serve` process on `port` that a crash test starts, SIGKILLs and
 * starts again with the same arguments (`args`: after `serve --port P`).
 */
export function killableServe(port: number, args: readonly string[]): { start(): Promise<void>; kill(): Promise<void> } {
  const [cmd, ...pre] = gearboxCommand();
  let server: ChildProcess | undefined;
  return {
    async start() {
      server = spawn(cmd!, [...pre, "serve", "--port", String(port), ...args, "--log-level", "error"], { stdio: "ignore" });
      await waitForPort(port, 15_000);
    },
    async kill() {
      const s = server!;
      const gone = new Promise((r) => s.once("exit", r));
      s.kill("SIGKILL");
      await gone;
    },
  };
}
