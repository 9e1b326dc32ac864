/**
 * The backstop for job timeouts: a worker process fails its own timed-out
 * job and exits; one that has not done so well after the timeout has a
 * blocked event loop and is SIGKILLed (the server then sees a lost
 * worker, not a failure).
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { NoteEvent } from "./event_log.ts";
import type { JobGroup } from "./job_group.ts";

/**
 * How long past its timeout a job's process may take to fail the job and
 * exit by itself before the driver SIGKILLs it (its event loop is blocked).
 */
const BACKSTOP_GRACE_MS = 3000;

/**
 * The backstop: a process fails its own timed-out job and exits; one
 * that has not done so well after the timeout has a blocked event loop,
 * and is SIGKILLed (the server then sees a lost worker, not a failure).
 */
export function enforceTimeouts(g: JobGroup, now: number, log: Logger, event: NoteEvent): void {
  const limit = g.def.timeoutMs;
  if (limit === undefined) return;
  for (const p of g.processes.values()) {
    if (p.killed) continue;
    if (p.retiredAt !== undefined && now - p.retiredAt > BACKSTOP_GRACE_MS) {
      p.killed = true;
      log.warn("a process that said it exits after a timeout did not: killing it", { job: g.name, pid: p.pid });
      p.handle.kill("SIGKILL");
      continue;
    }
    if (p.jobStartedAt === undefined || p.state === "idle" || now - p.jobStartedAt <= limit + BACKSTOP_GRACE_MS) continue;
    p.killed = true;
    g.lasterror = now;
    g.lasterrorMsg = `job ${p.jobHandle} ran over ${limit / 1000} s and its process did not end it; process ${p.pid} killed`;
    g.failuresInRow++;
    log.warn("job timeout: the process did not end the job, killing it", {
      job: g.name,
      pid: p.pid,
      handle: p.jobHandle,
      limit_s: limit / 1000,
    });
    event("timeout", g.name, `pid ${p.pid} killed: ${p.jobHandle} ran over ${limit / 1000} s`);
    p.stopRequested = true;
    p.state = "stopping";
    p.handle.kill("SIGKILL");
  }
}
