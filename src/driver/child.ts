/**
 * What runs inside a worker process of `gearbox drive` (the binary
 * re-executed with a hidden subcommand): a Worker for the job's functions,
 * running a module's handlers or a command per job, reporting each job's
 * start and end to the driver over a loopback socket (never over stdout,
 * which is the job's own to write). SIGTERM lets the running job finish.
 *
 * @module
 */
import { bytesEncoder, type DataEncoder, jsonEncoder, textEncoder } from "../client/data_encoder.ts";
import { Worker } from "../client/worker.ts";
import type { WorkerJob } from "../client/worker_job.ts";
import { importFile } from "../runtime/load.ts";
import { runCommand } from "../runtime/run_command.ts";
import { parseServer } from "../client/server_list.ts";
import { failureMessage, runForJob } from "./command_job.ts";
import { dial, type DialedSocket } from "../runtime/tcp_dial.ts";
import type { ChildReport, ChildSpec, JobDefinition } from "./job_definition.ts";
import { type Codec, type WorkerModule, workerModuleOf } from "./worker_module.ts";

const CODECS: Record<Codec, DataEncoder<unknown>> = {
  text: textEncoder as DataEncoder<unknown>,
  json: jsonEncoder,
  bytes: bytesEncoder as DataEncoder<unknown>,
};

/** Runs the worker process described by `specJson`; resolves with its exit status. */
export async function runChild(specJson: string): Promise<number> {
  const spec = JSON.parse(specJson) as ChildSpec;
  const job = spec.job;
  // The report socket doubles as a lifeline: when the driver is gone (even
  // SIGKILLed), its workers finish their job and exit instead of lingering.
  let onDriverGone = () => {};
  let finished = false;
  const report = await openReport(spec, () => {
    if (!finished) onDriverGone();
  });
  const worker = new Worker<unknown>({
    servers: spec.servers,
    clientId: `gearbox-drive:${job.name}:${process.pid}`,
    encoder: bytesEncoder as DataEncoder<unknown>,
    onError: (e) => process.stderr.write(`worker: ${e.message}\n`),
  });
  let mod: WorkerModule | undefined;
  if (job.kind === "module") {
    mod = workerModuleOf(await importFile(job.module!), job.module!);
    await mod.begin?.(job.options ?? {});
    for (const member of job.members!) {
      const def = mod.jobs[member]!;
      const decoder = CODECS[def.decode ?? "text"];
      const encoder = CODECS[def.encode ?? def.decode ?? "text"];
      const codec: DataEncoder<unknown> = { decode: (b) => decoder.decode(b), encode: (v) => encoder.encode(v) };
      worker.register(job.prefix + member, reported(report, (j) => def.handler(j, job.options ?? {})), {
        encoder: codec,
        timeoutMs: def.timeout === undefined ? undefined : def.timeout * 1000,
      });
    }
  } else {
    const program = job.command!;
    if (!(await commandExists(program[0]!))) {
      process.stderr.write(`cannot run ${program[0]}: not found or not executable\n`);
      return 127;
    }
    for (const fn of job.functions) {
      worker.register(fn, reported(report, (j) => runJobCommand(job, j as WorkerJob<Uint8Array>)), { timeoutMs: job.timeoutMs });
    }
  }
  const stop = () => void worker.stop();
  onDriverGone = () => {
    process.stderr.write("the driver is gone: finishing the current job and exiting\n");
    stop();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await worker.work();
  await mod?.end?.(job.options ?? {});
  finished = true;
  report?.close();
  return 0;
}

/** Wraps a handler so the driver hears of each job's start and end. */
function reported(report: DialedSocket | undefined, handler: (job: WorkerJob<unknown>) => unknown) {
  const send = (r: ChildReport) => report?.write(JSON.stringify(r) + "\n");
  return async (job: WorkerJob<unknown>) => {
    send({ event: "start", function: job.function, handle: job.handle });
    try {
      const result = await handler(job);
      send({ event: "done", function: job.function });
      return result;
    } catch (e) {
      send({ event: "fail", function: job.function, message: e instanceof Error ? e.message : String(e) });
      throw e;
    }
  };
}

/** A command job: stderr is passed on as it comes, so the driver logs it line by line. */
async function runJobCommand(job: JobDefinition, j: WorkerJob<Uint8Array>): Promise<Uint8Array> {
  const r = await runForJob(job.command!, j, { onStderr: (chunk) => process.stderr.write(chunk) });
  if (r.status === 0) return r.stdout;
  throw new Error(failureMessage(job.command!, r, "lastLine"));
}

async function commandExists(program: string): Promise<boolean> {
  const r = await runCommand(["sh", "-c", 'command -v "$1" >/dev/null', "sh", program], new Uint8Array(0)).catch(() => undefined);
  return r?.status === 0;
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
