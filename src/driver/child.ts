/**
 * What runs inside a worker process of `gearbox drive` (the binary
 * re-executed with a hidden subcommand): a Worker for the job's functions,
 * running a module's handlers or a command per job, reporting each job's
 * start and end to the driver over a loopback socket (never over stdout,
 * which is the job's own to write). SIGTERM lets the running job finish.
 *
 * A job's `timeout` is enforced here, so that it is a failure of that job
 * (retried as the server's policy says) rather than a lost worker: a
 * command is killed and the job fails; a module's handler cannot be
 * cancelled, so the job fails and the process exits once the failure is
 * sent, and the driver replaces it. The driver's SIGKILL is only the
 * backstop for a process whose event loop is blocked.
 *
 * @module
 */
import { bytesEncoder, type DataEncoder, jsonEncoder, textEncoder } from "../client/data_encoder.ts";
import { exitStatusOf, JobFailure } from "../client/job_failure.ts";
import { Worker } from "../client/worker.ts";
import type { WorkerJob } from "../client/worker_job.ts";
import { importFile } from "../runtime/load.ts";
import { runCommand } from "../runtime/run_command.ts";
import { parseServer } from "../client/server_list.ts";
import { commandFailure, runForJob } from "./command_job.ts";
import { dial, type DialedSocket } from "../runtime/tcp_dial.ts";
import type { ChildReport, ChildSpec, JobDefinition } from "./job_definition.ts";
import { type Codec, type DecodeFunction, type EncodeFunction, type WorkerModule, workerModuleOf } from "./worker_module.ts";

const CODECS: Record<Codec, DataEncoder<unknown>> = {
  text: textEncoder as DataEncoder<unknown>,
  json: jsonEncoder,
  bytes: bytesEncoder as DataEncoder<unknown>,
};

/** How often a command job's program's peak memory (VmHWM) is read while it runs, ms. */
const COMMAND_SAMPLE_MS = 250;

/** The exit status a timed-out job keeps (as timeout(1) exits). */
export const TIMEOUT_EXIT_STATUS = 124;

/** Runs the worker process described by `specJson`; resolves with its exit status. */
export async function runChild(specJson: string): Promise<number> {
  const spec = JSON.parse(specJson) as ChildSpec;
  const job = spec.job;
  // The report socket doubles as a lifeline: when the driver is gone (even
  // SIGKILLed), its workers finish their job and exit instead of lingering;
  // gone while this process is still setting up, it is remembered.
  let driverGone = false;
  let onDriverGone = () => void (driverGone = true);
  const report = await openReport(spec, () => onDriverGone());
  const send = (r: ChildReport) => report?.write(JSON.stringify(r) + "\n");
  const worker = newWorker(spec, send);
  const stop = () => void worker.stop();
  /** Set when a job timed out: the process exits once the failure is sent. */
  let retired = false;
  const retire = (reason: string) => {
    if (retired) return;
    retired = true;
    send({ event: "retire", reason });
    process.stderr.write(`${reason}: failing the job and exiting (a handler cannot be cancelled)\n`);
    stop();
  };
  let mod: WorkerModule | undefined;
  if (job.kind === "module") {
    const options = job.options ?? {};
    try {
      mod = workerModuleOf(await importFile(job.module!), job.module!);
      await mod.begin?.(options);
    } catch (e) {
      // A begin() that throws with an exitStatus ends the process with it.
      process.stderr.write(`worker process failed: ${e instanceof Error ? e.message : String(e)}\n`);
      onDriverGone = () => {}; // done: the socket's close is ours
      report?.close();
      return exitStatusOf(e) ?? 1;
    }
    registerModule(worker, job, mod, send, retire);
  } else {
    const program = job.command!;
    if (!(await commandExists(program[0]!))) {
      process.stderr.write(`cannot run ${program[0]}: not found or not executable\n`);
      return 127;
    }
    for (const fn of job.functions) {
      worker.register(fn, started(send, (j) => runJobCommand(job, j as WorkerJob<Uint8Array>, send)));
    }
  }
  if (driverGone) return await leaveEarly(job, mod, report);
  onDriverGone = () => {
    process.stderr.write("the driver is gone: finishing the current job and exiting\n");
    stop();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await worker.work();
  // After a timeout the handler still runs: end() could wait on it, so it is skipped.
  if (!retired) await mod?.end?.(job.options ?? {});
  onDriverGone = () => {}; // done: the socket's close is ours
  report?.close();
  return 0;
}

/** The process's worker: bytes on the wire (each function decodes its own), every job's end reported to the driver. */
function newWorker(spec: ChildSpec, send: (r: ChildReport) => void): Worker<unknown> {
  return new Worker<unknown>({
    servers: spec.servers,
    tls: spec.tls,
    clientId: `gearbox-drive:${spec.job.name}:${process.pid}`,
    encoder: bytesEncoder as DataEncoder<unknown>,
    onError: (e) => process.stderr.write(`worker: ${e.message}\n`),
    // However a job ended: a result, a throw, job.fail(), a timeout, a workload that did not decode.
    onJobEnd: (end) =>
      send(
        end.outcome === "complete" ? { event: "done", function: end.function } : {
          event: "fail",
          function: end.function,
          handle: end.handle,
          message: end.message ?? "failed",
          ...(end.exitStatus === undefined ? {} : { exitStatus: end.exitStatus }),
        },
      ),
  });
}

/** Registers each member of a module job with its codec and, if it has one, its time limit. */
function registerModule(
  worker: Worker<unknown>,
  job: JobDefinition,
  mod: WorkerModule,
  send: (r: ChildReport) => void,
  retire: (reason: string) => void,
): void {
  const options = job.options ?? {};
  for (const member of job.members!) {
    const def = mod.jobs[member]!;
    const decode = decoderOf(def.decode, options);
    const encode = encoderOf(def.encode ?? (typeof def.decode === "string" ? def.decode : "text"), options);
    // A workload that does not decode fails its job in the worker library, which tells onJobEnd.
    const codec: DataEncoder<unknown> = { decode, encode };
    const limitMs = def.timeout === undefined ? undefined : def.timeout * 1000;
    const run = (j: WorkerJob<unknown>) => def.handler(j, options);
    worker.register(
      job.prefix + member,
      started(
        send,
        limitMs === undefined
          ? run
          : (j) => withTimeout(limitMs, () => run(j), () => retire(`job ${j.handle} timed out after ${limitMs / 1000} s`)),
      ),
      { encoder: codec },
    );
  }
}

function decoderOf(d: Codec | DecodeFunction | undefined, options: Record<string, unknown>): (b: Uint8Array) => unknown {
  if (typeof d === "function") return (b) => d(b, options);
  return CODECS[d ?? "text"].decode;
}

function encoderOf(e: Codec | EncodeFunction, options: Record<string, unknown>): (v: unknown) => Uint8Array {
  if (typeof e !== "function") return CODECS[e].encode;
  return (v) => {
    const out = e(v, options);
    if (typeof out === "string") return textEncoder.encode(out);
    if (out instanceof Uint8Array) return out;
    throw new Error(`the job's encode function returned ${typeof out}, not a string or Uint8Array`);
  };
}

/** Runs `run`; after `limitMs` calls `onTimeout` and rejects with the timeout failure (the run itself goes on). */
function withTimeout(limitMs: number, run: () => unknown, onTimeout: () => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new JobFailure(`timed out after ${limitMs / 1000} s`, TIMEOUT_EXIT_STATUS));
    }, limitMs);
    Promise.resolve().then(run).then((v) => {
      clearTimeout(timer);
      resolve(v);
    }, (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Wraps a handler so the driver hears of each job's start (its end comes from onJobEnd). */
function started(send: (r: ChildReport) => void, handler: (job: WorkerJob<unknown>) => unknown) {
  return (job: WorkerJob<unknown>) => {
    send({ event: "start", function: job.function, handle: job.handle });
    return handler(job);
  };
}

/**
 * A command job: stderr is passed on as it comes, so the driver logs it line
 * by line. A program that does not exit 0 fails the job with its exit status
 * (128 + the signal's number when a signal ended it, as a shell says).
 */
async function runJobCommand(job: JobDefinition, j: WorkerJob<Uint8Array>, send: (r: ChildReport) => void): Promise<Uint8Array> {
  const started = Date.now();
  let pid: number | undefined;
  const r = await runForJob(job.command!, j, {
    onStderr: (chunk) => process.stderr.write(chunk),
    timeoutMs: job.timeoutMs,
    sampleMemoryMs: COMMAND_SAMPLE_MS,
    onSpawn: (p) => {
      pid = p;
      send({ event: "command", pid: p });
    },
  });
  if (pid !== undefined) send({ event: "command_end", pid, peakRssBytes: r.peakRssBytes });
  if (r.status === 0) return r.stdout;
  if (job.timeoutMs !== undefined && r.signal === "SIGKILL" && Date.now() - started >= job.timeoutMs) {
    throw new JobFailure(`timed out after ${job.timeoutMs / 1000} s`, TIMEOUT_EXIT_STATUS);
  }
  throw commandFailure(job.command!, r, "lastLine");
}

async function commandExists(program: string): Promise<boolean> {
  const r = await runCommand(["sh", "-c", 'command -v "$1" >/dev/null', "sh", program], new Uint8Array(0)).catch(() => undefined);
  return r?.status === 0;
}

/**
 * The driver went away while the process was still setting up (its hello had
 * already made it "idle" to the driver, which may be SIGKILLed right then):
 * nothing to finish, so the module is ended and the process exits.
 */
async function leaveEarly(job: ChildSpec["job"], mod: WorkerModule | undefined, report: DialedSocket | undefined): Promise<number> {
  process.stderr.write("the driver is gone: exiting before the first job\n");
  await mod?.end?.(job.options ?? {});
  report?.close();
  return 0;
}

async function openReport(spec: ChildSpec, onLost: () => void): Promise<DialedSocket | undefined> {
  const { host, port } = parseServer(spec.report);
  try {
    const socket = await dial(host, port, 5000);
    socket.onClose(() => onLost());
    socket.write(JSON.stringify({ event: "hello", token: spec.token, pid: process.pid } satisfies ChildReport) + "\n");
    return socket;
  } catch (e) {
    process.stderr.write(`cannot report to the driver at ${spec.report}: ${(e as Error).message}\n`);
    return undefined;
  }
}
