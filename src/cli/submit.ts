/**
 * `gearbox submit FUNC [DATA | -]`: submits one job, like `gearman -f`, and
 * streams what comes back: WORK_DATA to stdout as it arrives, then the
 * result; warnings to stderr; WORK_STATUS as a progress bar when stderr is
 * a terminal. The exit status says how it ended (see {@link EXIT}).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Command, Option } from "commander";
import cliProgress from "cli-progress";
import { Client } from "../client/client.ts";
import { ClientError } from "../client/client_error.ts";
import { bytesEncoder, textEncoder } from "../client/data_encoder.ts";
import type { JobRequest, Priority } from "../client/job_request.ts";
import { EXIT } from "./exit_status.ts";
import { collectServers, print, warn } from "./output.ts";
import { addTlsFlags, type TlsFlags, tlsFromFlags } from "./tls_flags.ts";

interface SubmitFlags extends TlsFlags {
  server?: string[];
  background?: boolean;
  priority: Priority;
  unique?: string;
  at?: string;
  timeout?: string;
  attempts: string;
  connectTimeout: string;
  json?: boolean;
}

export function addSubmitCommand(program: Command): void {
  const command = program
    .command("submit")
    .description("submit a job and print its result (WORK_DATA streamed to stdout, WORK_STATUS as a progress bar)")
    .argument("<function>", "the function to call")
    .argument("[data]", "the workload; '-' or nothing reads stdin (when it is not a terminal)")
    .option("-s, --server <host:port>", "a server to use (repeat or comma-separate for failover)", collectServers)
    .option("-b, --background", "submit as a background job and print its handle")
    .addOption(new Option("-p, --priority <level>", "job priority").choices(["high", "normal", "low"]).default("normal"))
    .option("-u, --unique <id>", "unique id: duplicates of a running job share it")
    .option("--at <when>", "run no earlier than: Unix seconds, an ISO 8601 time, or +N[s|m|h|d] (implies --background)")
    .option("-t, --timeout <seconds>", "stop waiting after this long (exit 4)")
    .option("--attempts <n>", "servers to try before giving up (maxConnectionAttempts)", "3")
    .option("--connect-timeout <ms>", "deadline for each TCP connect", "5000")
    .option("--json", "print the outcome as JSON instead of the raw result");
  addTlsFlags(command)
    .addHelpText(
      "after",
      `
Exit status: 0 complete (or queued, with --background), 1 the job failed (WORK_FAIL)
or the server refused it (e.g. queue full), 2 no server reachable, 3 the worker raised
an exception, 4 timed out, 64 bad usage.

Waits: every reply from the server (the handle, status) comes within 30 s or the
connection is treated as broken and the next server is tried. The job's result has
no bound of its own, since a job may run for hours: give --timeout to set one. A
server that goes away (even without closing, by TCP keepalive) ends the wait.`,
    )
    .action(async (fn: string, data: string | undefined, flags: SubmitFlags) => {
      process.exitCode = await submit(fn, data, flags);
    });
}

async function submit(fn: string, dataArg: string | undefined, flags: SubmitFlags): Promise<number> {
  let options;
  let tls;
  try {
    options = submitOptions(flags, Date.now());
    tls = tlsFromFlags(flags);
  } catch (e) {
    warn("submit", (e as Error).message);
    return EXIT.usage;
  }
  const data = dataArg === undefined || dataArg === "-"
    ? (dataArg === "-" || !process.stdin.isTTY ? await readStdin() : new Uint8Array(0))
    : Buffer.from(dataArg, "utf8");
  let client: Client<Uint8Array>;
  try {
    client = new Client<Uint8Array>({
      servers: flags.server,
      encoder: bytesEncoder,
      connectTimeoutMs: Number(flags.connectTimeout) || 5000,
      tls,
    });
  } catch (e) {
    warn("submit", (e as Error).message);
    return EXIT.usage;
  }
  try {
    const req = await client.submitJob(fn, data, { ...options, waitUntilComplete: false });
    await follow(req, flags.json === true);
    return outcome(req, flags.json === true);
  } catch (e) {
    warn("submit", (e as Error).message);
    return e instanceof ClientError && e.code === "UNREACHABLE" ? EXIT.unreachable : EXIT.failed;
  } finally {
    client.close();
  }
}

/** Flags → submit options; throws with a message that names the flag. */
export function submitOptions(flags: SubmitFlags, now: number) {
  const attempts = Number(flags.attempts);
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error(`--attempts must be a whole number from 1, got ${flags.attempts}`);
  let timeoutMs: number | undefined;
  if (flags.timeout !== undefined) {
    const s = Number(flags.timeout);
    if (!(s > 0)) throw new Error(`--timeout must be a positive number of seconds, got ${flags.timeout}`);
    timeoutMs = Math.round(s * 1000);
  }
  const runAt = flags.at === undefined ? undefined : parseWhen(flags.at, now);
  return {
    background: flags.background === true || runAt !== undefined,
    priority: flags.priority,
    unique: flags.unique,
    runAt,
    timeoutMs,
    maxConnectionAttempts: attempts,
  };
}

/** `--at`: Unix seconds, an ISO 8601 time, or `+N` with unit s, m, h or d; returns Unix seconds. */
export function parseWhen(text: string, now: number): number {
  const rel = /^\+(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim());
  if (rel) {
    const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[rel[2]!]!;
    return Math.floor(now / 1000 + Number(rel[1]) * unit);
  }
  if (/^\d{1,12}$/.test(text.trim())) return Number(text.trim());
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`--at: cannot read ${JSON.stringify(text)} as a time (Unix seconds, ISO 8601, or +N[s|m|h|d])`);
  return Math.floor(ms / 1000);
}

/** Streams the request's updates until it ends. */
async function follow(req: JobRequest<Uint8Array>, json: boolean): Promise<void> {
  const bar = process.stderr.isTTY && !json
    ? new cliProgress.SingleBar(
      { stream: process.stderr, format: "{bar} {value}/{total} {percentage}%", hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    )
    : undefined;
  let barStarted = false;
  try {
    for await (const u of req.updates()) {
      if (u.type === "data" && !json) await write(u.data);
      else if (u.type === "warning") warn("submit", `warning: ${textEncoder.decode(u.data)}`);
      else if (u.type === "status" && bar) {
        if (!barStarted) bar.start(u.denominator, u.numerator);
        else bar.setTotal(u.denominator);
        bar.update(u.numerator);
        barStarted = true;
      }
    }
  } finally {
    if (barStarted) bar!.stop();
  }
}

/** Prints the result (or the handle, or JSON) and picks the exit status. */
async function outcome(req: JobRequest<Uint8Array>, json: boolean): Promise<number> {
  const code = req.timedOut
    ? EXIT.timeout
    : req.state === "COMPLETE" || (req.background && req.state === "CREATED")
    ? EXIT.ok
    : req.error?.code === "UNREACHABLE"
    ? EXIT.unreachable
    : req.exception !== undefined
    ? EXIT.exception
    : EXIT.failed;
  if (json) {
    print(JSON.stringify({
      handle: req.handle ?? null,
      server: req.server ?? null,
      state: req.state,
      background: req.background,
      result: req.result === undefined ? null : textEncoder.decode(req.result),
      data: req.dataUpdates.map((d) => textEncoder.decode(d)),
      exception: req.exception ?? null,
      error: req.error?.message ?? null,
      timedOut: req.timedOut,
      connectionAttempts: req.connectionAttempts,
    }));
    return code;
  }
  if (code === EXIT.ok) {
    if (req.background) print(req.handle!);
    else await write(req.result ?? new Uint8Array(0));
  } else if (code === EXIT.timeout) warn("submit", `timed out waiting for ${req.handle ?? "the server"} (state ${req.state})`);
  else if (code === EXIT.exception) warn("submit", `job ${req.handle} raised an exception: ${req.exception}`);
  else if (req.error) warn("submit", req.error.message);
  else warn("submit", `job ${req.handle} failed`);
  return code;
}

function write(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => process.stdout.write(bytes, () => resolve()));
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
