/**
 * `gearbox work FUNC -- COMMAND ARGS...`: a worker like `gearman -w` that
 * runs a program per job: the workload on its stdin, its stdout the result,
 * a non-zero exit a failure whose message is its stderr. The job's handle,
 * function and unique are in GEARBOX_HANDLE, GEARBOX_FUNCTION and
 * GEARBOX_UNIQUE. SIGINT/SIGTERM let the running job finish, then exit.
 *
 * @module
 */
import { EXIT } from "./exit_status.ts";
import { type Command } from "commander";
import { bytesEncoder } from "../client/data_encoder.ts";
import { Worker } from "../client/worker.ts";
import { commandFailure, howEnded, runForJob } from "../driver/command_job.ts";
import { collectServers, warn } from "./output.ts";
import { addTlsFlags, type TlsFlags, tlsFromFlags } from "./tls_flags.ts";

interface WorkFlags {
  server?: string[];
  count?: string;
  timeout?: string;
  clientId?: string;
  verbose?: boolean;
}

type Flags = WorkFlags & TlsFlags;

export function addWorkCommand(program: Command): void {
  const work = program
    .command("work")
    .description("run COMMAND for each job of FUNCTION: workload on stdin, stdout is the result, non-zero exit fails with stderr")
    .argument("<function>", "the function to register (comma-separate several)")
    .argument("<command...>", "the program and its arguments (put -- before it)")
    .option("-s, --server <host:port>", "a server to work for (repeat or comma-separate: all of them)", collectServers)
    .option("-c, --count <n>", "exit after this many jobs")
    .option("-t, --timeout <seconds>", "register with CAN_DO_TIMEOUT and kill the program after this long")
    .option("--client-id <id>", "the id `gearadmin --workers` shows")
    .option("-v, --verbose", "log each job's outcome to stderr");
  addTlsFlags(work)
    .action(async (functions: string, command: string[], flags: Flags) => {
      process.exitCode = await runWork(functions.split(",").filter((f) => f !== ""), command, flags);
    });
}

async function runWork(functions: string[], command: string[], flags: Flags): Promise<number> {
  const count = flags.count === undefined ? Infinity : Number(flags.count);
  const timeoutS = flags.timeout === undefined ? undefined : Number(flags.timeout);
  if (!(count >= 1) || (count !== Infinity && !Number.isInteger(count))) {
    return usage(`--count must be a whole number from 1, got ${flags.count}`);
  }
  if (timeoutS !== undefined && !(timeoutS > 0)) return usage(`--timeout must be a positive number of seconds, got ${flags.timeout}`);
  if (functions.length === 0) return usage("no function given");
  let worker: Worker<Uint8Array>;
  try {
    worker = new Worker<Uint8Array>({
      servers: flags.server,
      encoder: bytesEncoder,
      clientId: flags.clientId,
      tls: tlsFromFlags(flags),
      onError: (e) => warn("work", e.message),
    });
  } catch (e) {
    return usage((e as Error).message);
  }
  let done = 0;
  const timeoutMs = timeoutS === undefined ? undefined : Math.round(timeoutS * 1000);
  for (const fn of functions) {
    worker.register(fn, async (job) => {
      const started = Date.now();
      try {
        const r = await runForJob(command, job, { timeoutMs });
        const ms = Date.now() - started;
        if (r.status === 0) {
          if (flags.verbose) warn("work", `${job.handle} ${fn}: ok in ${ms} ms`);
          return r.stdout;
        }
        if (flags.verbose) warn("work", `${job.handle} ${fn}: ${howEnded(r)} in ${ms} ms`);
        throw commandFailure(command, r, "stderr");
      } catch (e) {
        if (/^cannot run /.test((e as Error).message)) {
          // A program that cannot start is a setup error, not the job's fault: leave without
          // answering, so the server gives the job back to the queue, and say why.
          warn("work", `${(e as Error).message}; exiting, ${job.handle} goes back to the queue`);
          process.exit(EXIT.failed);
        }
        throw e;
      } finally {
        if (++done >= count) void worker.stop();
      }
    }, { timeoutMs });
  }
  const stop = () => void worker.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await worker.work();
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  return 0;
}

function usage(message: string): number {
  warn("work", message);
  return EXIT.usage;
}
