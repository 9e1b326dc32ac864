/**
 * Helpers for the interop suites: run real Gearman peers (the `gearman` and
 * `gearadmin` CLIs, the Perl and PHP peer scripts under tests/interop/peers/)
 * as child processes with bounded lifetimes, and watch a server's state
 * through the admin protocol while they run.
 *
 * Every child is started through a {@link Peers} group, killed by a hard
 * timer if it outlives its budget, and killed by `killAll()` in the suite's
 * `after` hook, so no test can leak a process.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { Buffer } from "node:buffer";
import { after, before } from "node:test";
import { ROOT, type RunningServer, type TARGETS } from "./servers.ts";
import { RawConn } from "./raw_conn.ts";
import { waitUntil } from "./wait.ts";

export const PEER_DIR = `${ROOT}tests/interop/peers/`;

function commandOk(cmd: string, args: string[]): boolean {
  try {
    return spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 }).status === 0;
  } catch {
    return false;
  }
}

/** Which real peers are installed here. */
export const HAVE = {
  gearman: commandOk("sh", ["-c", "command -v gearman"]),
  gearadmin: commandOk("sh", ["-c", "command -v gearadmin"]),
  perl: commandOk("perl", ["-MGearman::Client", "-MGearman::Worker", "-MJSON::PP", "-e", "1"]),
  php: commandOk("php", ["-r", "exit(extension_loaded('gearman') ? 0 : 1);"]),
};

/** Skip reasons for `test(name, { skip }, ...)`: false when the peer is there. */
export const MISSING = {
  gearman: HAVE.gearman ? false as const : "the gearman CLI (gearman-tools) is not installed",
  gearadmin: HAVE.gearadmin ? false as const : "gearadmin (gearman-tools) is not installed",
  perl: HAVE.perl ? false as const : "Perl Gearman::Client/Gearman::Worker (libgearman-client-perl) is not installed",
  php: HAVE.php ? false as const : "PHP's gearman extension (php-gearman) is not installed",
};

/** The first non-false reason, or false: combines skip reasons (`npm test` prints each reason given). */
export function skipIf(...reasons: (string | false | undefined)[]): string | false {
  for (const r of reasons) if (r) return r;
  return false;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

/** One child process: its output so far, its exit, and bounded waits on both. */
export class Proc {
  readonly child: ChildProcess;
  readonly label: string;
  #out: Buffer[] = [];
  #err = "";
  #exit: Exit | undefined;
  #wakers: (() => void)[] = [];
  readonly exited: Promise<Exit>;

  constructor(label: string, child: ChildProcess) {
    this.label = label;
    this.child = child;
    child.stdout?.on("data", (d: Buffer) => {
      this.#out.push(d);
      this.#wake();
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.#err += d.toString("latin1");
    });
    this.exited = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        this.#exit = { code, signal, stdout: this.stdout, stdoutBytes: this.stdoutBytes, stderr: this.#err };
        this.#wake();
        resolve(this.#exit);
      });
      child.once("error", (e) => {
        this.#err += String(e);
        if (!this.#exit) {
          this.#exit = { code: null, signal: null, stdout: this.stdout, stdoutBytes: this.stdoutBytes, stderr: this.#err };
          this.#wake();
          resolve(this.#exit);
        }
      });
    });
  }

  #wake(): void {
    const w = this.#wakers;
    this.#wakers = [];
    for (const f of w) f();
  }

  get stdoutBytes(): Buffer {
    return Buffer.concat(this.#out);
  }

  /** Stdout decoded as latin1, so every byte maps to one character. */
  get stdout(): string {
    return this.stdoutBytes.toString("latin1");
  }

  get stderr(): string {
    return this.#err;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Complete stdout lines so far. */
  lines(): string[] {
    const s = this.stdoutBytes.toString("utf8");
    const parts = s.split("\n");
    parts.pop();
    return parts;
  }

  /** Stdout lines that parse as JSON objects, parsed. */
  jsonLines(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.lines()) {
      try {
        const v = JSON.parse(l);
        if (v && typeof v === "object") out.push(v);
      } catch { /* not a JSON line */ }
    }
    return out;
  }

  #describe(): string {
    return `${this.label}: stdout=${JSON.stringify(this.stdout.slice(-2000))} stderr=${JSON.stringify(this.#err.slice(-2000))}`;
  }

  async #until<T>(take: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.#describe()})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.#wakers.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for a JSON stdout line satisfying `pred`; throws if the process exits first. */
  async waitForJson(pred: (v: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    return await this.#until(
      () => {
        const hit = this.jsonLines().find(pred);
        if (hit) return hit;
        if (this.#exit) {
          throw new Error(
            `${this.label} exited (${this.#exit.code ?? this.#exit.signal}) before printing the expected line (${this.#describe()})`,
          );
        }
        return undefined;
      },
      timeoutMs,
      "a matching JSON line",
    );
  }

  /** Waits for the process to exit; kills it and throws after `timeoutMs`. */
  async waitExit(timeoutMs = 5000): Promise<Exit> {
    try {
      return await this.#until(() => this.#exit, timeoutMs, "exit");
    } catch (e) {
      this.kill();
      throw e;
    }
  }

  /** Waits for exit with status 0 and returns the exit; throws with the output otherwise. */
  async ok(timeoutMs = 5000): Promise<Exit> {
    const exit = await this.waitExit(timeoutMs);
    if (exit.code !== 0) throw new Error(`${this.label} exited with ${exit.code ?? exit.signal} (${this.#describe()})`);
    return exit;
  }

  /** Waits for a clean exit and returns the last JSON line it printed. */
  async result(timeoutMs = 5000): Promise<Record<string, unknown>> {
    await this.ok(timeoutMs);
    const all = this.jsonLines();
    if (all.length === 0) throw new Error(`${this.label} printed no JSON (${this.#describe()})`);
    return all[all.length - 1]!;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.#exit === undefined) {
      try {
        this.child.kill(signal);
      } catch { /* already gone */ }
    }
  }
}

export interface StartOptions {
  /** Bytes written to stdin, which is then closed (stdin is /dev/null otherwise). */
  input?: string | Uint8Array;
  /** Hard limit: the process is killed after this long (default 20 s). */
  lifetimeMs?: number;
}

/** A group of child processes owned by one suite; `killAll()` in `after`. */
export class Peers {
  #procs = new Set<Proc>();

  start(cmd: string, args: string[], opts: StartOptions = {}): Proc {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, LC_ALL: "C" },
    });
    const proc = new Proc(`${cmd} ${args.map((a) => JSON.stringify(a)).join(" ")}`, child);
    if (opts.input !== undefined) {
      child.stdin!.on("error", () => {});
      child.stdin!.end(typeof opts.input === "string" ? Buffer.from(opts.input, "latin1") : Buffer.from(opts.input));
    }
    this.#procs.add(proc);
    const timer = setTimeout(() => proc.kill(), opts.lifetimeMs ?? 20_000);
    void proc.exited.then(() => {
      clearTimeout(timer);
      this.#procs.delete(proc);
    });
    return proc;
  }

  /** `gearman -h 127.0.0.1 -p PORT ...args` */
  gearman(port: number, args: string[], opts: StartOptions = {}): Proc {
    return this.start("gearman", ["-h", "127.0.0.1", "-p", String(port), ...args], opts);
  }

  /** `gearadmin -h 127.0.0.1 -p PORT ...args` */
  gearadmin(port: number, args: string[], opts: StartOptions = {}): Proc {
    return this.start("gearadmin", ["-h", "127.0.0.1", "-p", String(port), ...args], opts);
  }

  /** `perl tests/interop/peers/SCRIPT 127.0.0.1 PORT SPEC_JSON` */
  perl(script: "client.pl" | "worker.pl", port: number, spec: Record<string, unknown>, opts: StartOptions = {}): Proc {
    return this.start("perl", [`${PEER_DIR}${script}`, "127.0.0.1", String(port), JSON.stringify(spec)], opts);
  }

  /** `php tests/interop/peers/SCRIPT 127.0.0.1 PORT SPEC_JSON` */
  php(script: "client.php" | "worker.php", port: number, spec: Record<string, unknown>, opts: StartOptions = {}): Proc {
    return this.start("php", [`${PEER_DIR}${script}`, "127.0.0.1", String(port), JSON.stringify(spec)], opts);
  }

  /** Kills every child still running and waits (bounded) for them to go. */
  async killAll(): Promise<void> {
    const procs = [...this.#procs];
    for (const p of procs) p.kill();
    await Promise.race([
      Promise.all(procs.map((p) => p.exited)),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
  }
}

/** Sends one admin command on a fresh connection and returns the raw reply (a list or one line). */
export async function admin(port: number, command: string, list = true): Promise<string> {
  const c = await RawConn.connect(port);
  try {
    return list ? await c.adminList(command) : await c.adminLine(command);
  } finally {
    c.close();
  }
}

export interface FunctionStatus {
  total: number;
  running: number;
  workers: number;
}

/** Parses `status`: function name -> counts, in the order listed. */
export function parseStatus(text: string): Map<string, FunctionStatus> {
  const out = new Map<string, FunctionStatus>();
  for (const line of text.split("\n")) {
    if (line === "." || line === "") continue;
    const [name, total, running, workers] = line.split("\t");
    out.set(name!, { total: Number(total), running: Number(running), workers: Number(workers) });
  }
  return out;
}

/** The `status` counts of one function ({0,0,0} when it is not listed). */
export async function statusOf(port: number, fn: string): Promise<FunctionStatus> {
  return parseStatus(await admin(port, "status")).get(fn) ?? { total: 0, running: 0, workers: 0 };
}

/** Waits until `status` shows exactly these counts for `fn` (fields left out are not checked). */
export async function waitForStatus(port: number, fn: string, want: Partial<FunctionStatus>, timeoutMs = 5000): Promise<void> {
  await waitUntil(`status of ${fn} is ${JSON.stringify(want)}`, async () => {
    const s = await statusOf(port, fn);
    const ok = Object.entries(want).every(([k, v]) => s[k as keyof FunctionStatus] === v);
    return ok || JSON.stringify(s);
  }, timeoutMs);
}

/** GET_STATUS_UNIQUE: how many clients wait on the job with this unique (0 when unknown). */
export async function listenersOf(port: number, unique: string): Promise<number> {
  const c = await RawConn.connect(port);
  try {
    c.sendPacket(41, /* GET_STATUS_UNIQUE */ unique);
    const res = await c.expectPacket(42 /* STATUS_RES_UNIQUE */);
    return Number(res.args[5] ?? 0);
  } finally {
    c.close();
  }
}

/** The server a suite runs against, once started. */
export interface Served {
  server: RunningServer | undefined;
}

/**
 * Starts the target before the suite (unless it is skipped) and, after it,
 * runs `cleanup`, kills every peer and stops the server. `onPort` receives
 * the port the server listens on.
 */
export function serveTarget(
  target: (typeof TARGETS)[number],
  skip: string | false,
  peers: Peers,
  onPort: (port: number) => void,
  cleanup?: () => void,
): Served {
  const served: Served = { server: undefined };
  before(async () => {
    if (skip) return;
    served.server = await target.start();
    onPort(served.server.port);
  });
  after(async () => {
    cleanup?.();
    await peers.killAll();
    await served.server?.stop();
  });
  return served;
}
