/**
 * The management console, as Gearman::Driver::Console: text commands on a
 * TCP port (loopback by default; TLS with console_tls_cert), each reply ending with a line `.`, errors
 * starting with `ERR`. With a token set, a connection must `auth TOKEN`
 * first. `status json` gives the same facts as one JSON line for tools and
 * `gearbox top`.
 *
 * @module
 */
import { LineSplitter } from "../runtime/line_splitter.ts";
import { listen, type NetListener, type NetSocket, type TlsServerConfig } from "../runtime/net.ts";
import type { JobGroup } from "./job_group.ts";
import { answerRuns, RUNS_HELP, type RunsTarget } from "./console_runs.ts";

/** What the console can see and do; the driver provides it. */
export interface ConsoleTarget extends Omit<RunsTarget, "hasJob"> {
  groups(): readonly JobGroup[];
  groupState(group: JobGroup): string;
  /** Changes min and/or max; returns an error text or undefined. */
  setProcesses(job: string, min: number | undefined, max: number | undefined): string | undefined;
  /** Stops processes (they are replaced as scaling requires). Returns pids that are not ours. */
  kill(pids: number[]): number[];
  /** Every process of these jobs; `*` for all. Returns unknown job names. */
  killall(jobs: string[]): string[];
  shutdown(): void;
  statusJson(): unknown;
  events(since: number): readonly unknown[];
}

const HELP = [
  "status                          jobs: name min max current state lastrun lasterror lasterror_msg",
  "status json                     the same (and every process) as one JSON line",
  "show JOB                        one job and its processes (pid state started jobs)",
  "events [SEQ]                    what the driver did after event SEQ, one JSON line each",
  ...RUNS_HELP,
  "set_min_processes JOB N",
  "set_max_processes JOB N",
  "set_processes JOB MIN MAX",
  "kill PID...                     stop these processes (they are replaced as needed)",
  "killall JOB...|*                stop every process of these jobs",
  "auth TOKEN                      when the driver has a console token",
  "quit                            close this connection",
  "shutdown                        drain the workers and stop the driver",
  "help",
];

const MAX_LINE = 4096;

function iso(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace(/\.\d+Z$/, "Z") : "never";
}

/**
 * Listens on host:port (TLS only when `tls` is given); resolves once listening.
 * Closing it also closes the console connections still open: a driver that
 * stopped has nothing to answer, and an idle operator's session must not keep
 * the process alive.
 */
export async function startConsole(
  target: ConsoleTarget,
  options: { host: string; port: number; token: string; tls?: TlsServerConfig },
): Promise<NetListener> {
  const open = new Set<NetSocket>();
  const listener = await listen({ host: options.host, port: options.port, tls: options.tls }, (socket) => {
    open.add(socket);
    socket.onClose(() => open.delete(socket));
    serveConnection(socket, target, options.token);
  });
  return {
    host: listener.host,
    port: listener.port,
    ...(listener.reloadTls ? { reloadTls: listener.reloadTls.bind(listener) } : {}),
    close: async () => {
      await listener.close();
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}

function serveConnection(socket: NetSocket, target: ConsoleTarget, token: string): void {
  let authed = token === "";
  const send = (lines: string[]) => socket.write(new TextEncoder().encode(lines.map((l) => l + "\n").join("") + ".\n"));
  const lines = new LineSplitter((raw) => {
    const line = raw.trim();
    if (line === "") return;
    const [command = "", ...args] = line.split(/\s+/);
    const cmd = command.toLowerCase();
    if (cmd === "quit") {
      lines.stop();
      socket.end();
      return;
    }
    if (cmd === "auth") {
      authed = token !== "" && args[0] === token;
      send([authed ? "OK" : "ERR auth_failed"]);
      return;
    }
    if (!authed) {
      send(["ERR auth_required: send `auth TOKEN` first"]);
      return;
    }
    send(answer(target, cmd, args));
  }, {
    maxLine: MAX_LINE,
    onOverflow: () => {
      send(["ERR line_too_long"]);
      socket.end();
    },
  });
  socket.onData((chunk) => lines.push(chunk));
}

/** The reply lines of one command (without the closing `.`). */
export function answer(target: ConsoleTarget, cmd: string, args: string[]): string[] {
  const find = (name: string | undefined) => target.groups().find((g) => g.name === name);
  const count = (v: string | undefined) => (v !== undefined && /^\d{1,4}$/.test(v) ? Number(v) : undefined);
  switch (cmd) {
    case "help":
      return HELP;
    case "status":
      if (args[0] === "json") return [JSON.stringify(target.statusJson())];
      return target.groups().map((g) => statusLine(target, g));
    case "events": {
      const since = args[0] === undefined ? 0 : Number(args[0]);
      if (!Number.isInteger(since) || since < 0) return ["ERR invalid_value: events [SEQ]"];
      return target.events(since).map((e) => JSON.stringify(e));
    }
    case "show": {
      const g = find(args[0]);
      if (!g) return [`ERR invalid_job_name: ${args[0] ?? "(none)"}`];
      return [
        statusLine(target, g),
        ...[...g.processes.values()].map((p) =>
          `${p.pid}\t${p.state}\t${iso(p.startedAt)}\t${p.jobsDone}${p.jobHandle ? `\t${p.jobHandle}` : ""}`
        ),
      ];
    }
    case "set_min_processes":
    case "set_max_processes":
    case "set_processes": {
      if (!find(args[0])) return [`ERR invalid_job_name: ${args[0] ?? "(none)"}`];
      const values = args.slice(1).map(count);
      const want = cmd === "set_processes" ? 2 : 1;
      if (values.length !== want || values.some((v) => v === undefined)) {
        return [`ERR invalid_value: ${cmd} JOB ${cmd === "set_processes" ? "MIN MAX" : "N"} (whole numbers)`];
      }
      const [a, b] = values as number[];
      const error = cmd === "set_min_processes"
        ? target.setProcesses(args[0]!, a, undefined)
        : cmd === "set_max_processes"
        ? target.setProcesses(args[0]!, undefined, a)
        : target.setProcesses(args[0]!, a, b);
      return [error ? `ERR invalid_value: ${error}` : "OK"];
    }
    case "kill": {
      const pids = args.map((a) => (/^\d+$/.test(a) ? Number(a) : NaN));
      if (pids.length === 0 || pids.some(Number.isNaN)) return ["ERR invalid_pid: kill PID..."];
      const unknown = target.kill(pids);
      return [unknown.length > 0 ? `ERR invalid_pid: ${unknown.join(" ")}` : "OK"];
    }
    case "killall": {
      if (args.length === 0) return ["ERR invalid_job_name: killall JOB...|*"];
      const unknown = target.killall(args);
      return [unknown.length > 0 ? `ERR invalid_job_name: ${unknown.join(" ")}` : "OK"];
    }
    case "shutdown":
      target.shutdown();
      return ["OK"];
    default:
      return answerRuns(runsTarget(target), cmd, args) ?? [`ERR unknown_command: ${cmd} (try help)`];
  }
}

function runsTarget(target: ConsoleTarget): RunsTarget {
  return { hasJob: (j) => target.groups().some((g) => g.name === j), runs: (j, n) => target.runs(j, n), run: (h) => target.run(h) };
}

function statusLine(target: ConsoleTarget, g: JobGroup): string {
  return [
    g.name,
    g.min,
    g.max,
    g.current,
    target.groupState(g),
    iso(g.lastrun),
    iso(g.lasterror),
    g.lasterrorMsg.replace(/\s+/g, " ") || "-",
  ].join("\t");
}
