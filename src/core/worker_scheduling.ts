/**
 * Which worker gets which job, and who is woken: registrations, the NOOP
 * wake-up policy (`wakeup`, `wakeup_delay`) and the job choice across a
 * worker's functions (gearmand 2.0's global priority rule).
 *
 * @module
 */
import type { FunctionRecord } from "./function_record.ts";
import { type Job, Priority } from "./job.ts";
import { type EndingContext, requeue } from "./job_endings.ts";
import type { CoreContext } from "./core_context.ts";
import type { Peer } from "./peer.ts";

/**
 * Sends NOOP to sleeping workers of the function: at most `wakeup` per call,
 * all of them for -1, none for 0 (Gearman::Server's meaning: workers are
 * expected to poll, and latency does not matter).
 */
export function wake(server: Pick<CoreContext, "options" | "sendNoop" | "at">, fn: FunctionRecord, now: number): void {
  const workers = fn.workers;
  const n = workers.length;
  const { wakeup, wakeupDelayMs } = server.options;
  if (n === 0 || wakeup === 0) return;
  const limit = wakeup > 0 ? wakeup : n;
  let woken = 0;
  let remaining = false;
  const start = fn.wakeCursor;
  for (let k = 0; k < n; k++) {
    const w = workers[(start + k) % n]!;
    if (!w.sleeping || w.noopSent) continue;
    if (woken === limit) {
      remaining = true;
      break;
    }
    w.noopSent = true;
    server.sendNoop(w);
    woken++;
    fn.wakeCursor = (start + k + 1) % n;
  }
  if (remaining && wakeupDelayMs >= 0 && !fn.rewakeArmed) {
    fn.rewakeArmed = true;
    server.at(now + wakeupDelayMs, { kind: "rewake", fn });
  }
}

/** The next runnable job for a worker: highest priority across its functions, then registration order. */
export function takeJobFor(server: Pick<CoreContext, "options">, peer: Peer): Job | undefined {
  for (let p = Priority.High; p <= Priority.Low; p++) {
    for (let i = 0; i < peer.abilities.length; i++) {
      const ability = peer.abilities[i]!;
      const job = ability.fn.queue.first(p);
      if (!job) continue;
      if (server.options.roundRobin && peer.abilities.length > 1) {
        peer.abilities.splice(i, 1);
        peer.abilities.push(ability);
      }
      return job;
    }
  }
  return undefined;
}

/** True when any of the worker's functions has a runnable job. */
export function hasWorkFor(peer: Peer): boolean {
  // A loop, not some(): every PRE_SLEEP asks, and a callback is a function object made per call.
  for (const a of peer.abilities) if (a.fn.queue.size > 0) return true;
  return false;
}

/** Registers an ability (de-duplicated per connection; newest first). */
export function addAbility(peer: Peer, fn: FunctionRecord, timeoutMs: number): void {
  const existing = peer.ability(fn);
  if (existing) {
    existing.timeoutMs = timeoutMs;
    peer.abilities.splice(peer.abilities.indexOf(existing), 1);
    peer.abilities.unshift(existing);
    return;
  }
  peer.abilities.unshift({ fn, timeoutMs });
  fn.workers.push(peer);
}

/** Removes an ability and requeues the jobs the connection runs for it. */
export function removeAbility(server: EndingContext, peer: Peer, fn: FunctionRecord, now: number): void {
  const i = peer.abilities.findIndex((a) => a.fn === fn);
  if (i === -1) return;
  peer.abilities.splice(i, 1);
  removeWorker(fn, peer);
  for (const job of [...peer.holding]) if (job.fn === fn) requeue(server, job, now, "CANT_DO");
}

/** Forgets a connection as a worker of the function, keeping the wake rotation in range. */
export function removeWorker(fn: FunctionRecord, peer: Peer): void {
  const i = fn.workers.indexOf(peer);
  if (i === -1) return;
  fn.workers.splice(i, 1);
  if (fn.wakeCursor > i) fn.wakeCursor--;
  if (fn.wakeCursor >= fn.workers.length) fn.wakeCursor = 0;
}
