/**
 * # The core: gearbox's job server state machine, without I/O
 *
 * Glossary
 * - **connection / peer**: one TCP connection. "Client" and "worker" are roles, not
 *   kinds: a connection may submit, register functions and send admin lines as far as
 *   its role set allows (roles.ts; every role unless its listener or certificate says otherwise).
 * - **function**: a name workers register (CAN_DO) and clients submit to. Its record
 *   lives until `drop function`, with three priority queues and its queue limits.
 * - **job**: one submission: handle, function, unique, workload, priority, and whether
 *   it is **foreground** (clients wait for WORK_* packets: its **listeners**) or
 *   **background** (fire and forget; kept in the store).
 * - **handle**: the server's name for a job, `H:<host>.<boot>:<n>`, unique across restarts.
 * - **unique**: the client's name for a job; live jobs with the same (function, unique)
 *   coalesce into one, and every listener receives every WORK_* packet. Empty never
 *   coalesces; `-` coalesces on identical workloads.
 * - **sleeping worker**: sent PRE_SLEEP; gets one NOOP when work arrives.
 * - **requeue**: a running job goes back to the tail of its queue when its worker is
 *   lost, says CANT_DO, or overruns its CAN_DO_TIMEOUT; `job_retries` bounds attempts.
 * - **lease** (grabbed_until): how long a worker may hold a job (`grab_for` or its
 *   CAN_DO_TIMEOUT); when it ends the job is offered again and late results are refused.
 * - **retry policy**: TheSchwartz's rule for background jobs nobody waits for: a failure
 *   schedules the job again after a delay (run_after) until `max_retries` failures.
 * - **failure log**: time and message of every failure of a job (bounded).
 * - **dead set / ended job**: a background job that failed for good (or completed, with
 *   `keep_exit_status_for`) kept with its exit status until its keep time ends.
 * - **coalesce prefix**: a worker may grab only jobs whose unique starts with a prefix.
 *
 * Job states
 * ```
 *   SUBMIT (fg) ───────────────────────────────┐
 *   SUBMIT_*_BG ─> persisting ─(store ok)─> scheduled ─(due)─> queued ─(GRAB)─> running
 *                      │                                      ^   ^               │
 *                 (store error:                               │   └── requeue ────┤
 *                  ERROR to submitter)                        └──── (runAt≤now)   │
 *   done  <── WORK_COMPLETE / WORK_FAIL / WORK_EXCEPTION / cancel / retries used ─┘
 *   done  <── last listener of a queued foreground job left
 *
 *   running ─(failure, policy allows)─> scheduled (run_after = now + delay)
 *   running ─(WORK_DECLINE run_after)─> scheduled, no failure counted
 *   running ─(failed for good)─> ended "failed" (dead set) ─(job retry)─> queued
 *   running ─(WORK_REPLACE, after its commit)─> done, replacements persisted
 *   ended ─(keep time over / purge / max_ended_jobs)─> forgotten
 * ```
 * Acknowledgements: JOB_CREATED for a background job is written only after the store
 * committed it; later replies to the same connection wait behind it, so replies never
 * overtake each other.
 *
 * Workloads: once committed, a job keeps its workload in memory only while committed
 * workloads take less than `maxPayloadMemory`; otherwise it is left to the store,
 * and when a worker takes the job the core holds the worker's reply slot and emits a `read`
 * effect; the edge reads the store and calls `JobServer.payloadRead`, which sends the
 * JOB_ASSIGN* (payload_reads.ts, settle_read.ts). Other workers are not held up. A
 * workload the store cannot give back fails that run like a WORK_FAIL would, and the
 * worker gets NO_JOB.
 *
 * @module
 */
export { JobServer } from "./job_server.ts";
export type { CoreContext, CoreView, PacketHandler } from "./core_context.ts";
export type { CoreIdentity, CoreOptions, CoreSettings } from "./core_options.ts";
export type { Drained, Effect } from "./effect.ts";
export { Priority, type StoredJob } from "./job.ts";
export type { PendingAck } from "./record_shapes.ts";
export type { RetryPolicy } from "./retry_policy.ts";
export { ALL_ROLES, isRoleName, NO_ROLES, ROLE_NAMES, type RoleName, roleNames, type RoleSet, roleSet } from "./roles.ts";
