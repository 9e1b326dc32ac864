/**
 * What the store's answer to a `read` effect does (payload_reads.ts): a
 * grab gets its JOB_ASSIGN* in the slot it held, or NO_JOB when the job is no
 * longer this worker's or the store could not give the workload back. When
 * the store could not be reached (`outage`), the job goes back to its queue
 * untouched, to be tried again {@link OUTAGE_RETRY_MS} later; when the store
 * answered without it, the job fails like a failed run (retried if its
 * policy allows).
 * Answers for a connection that is gone are dropped: its jobs were requeued
 * when it closed.
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";
import { encodePacket, encodeText } from "../protocol/encoder.ts";
import type { CoreContext } from "./core_context.ts";
import { type EndingContext, jobFailed, putBack } from "./job_endings.ts";
import { assignPacket, type PayloadRead } from "./payload_reads.ts";

const NO_JOB = encodePacket(Cmd.NO_JOB);
/** How long a job whose workload the store could not be reached for waits before it is offered again. */
export const OUTAGE_RETRY_MS = 1000;

/** What settling a read needs: output, counters, and ending a job. */
export type SettleContext = EndingContext & Pick<CoreContext, "release">;

/** Fills the read's held slot from the store's answer (`data`, or `error`; neither: the store no longer has it). */
export function settleRead(
  server: SettleContext,
  read: PayloadRead,
  data: Uint8Array | undefined,
  error: string | undefined,
  now: number,
  outage = false,
): void {
  const peer = read.peer;
  if (peer.closed) return;
  if (read.kind === "size") {
    peer.resolve(read.ack, encodeText(`${read.before}${error === undefined ? data?.byteLength ?? "-" : "-"}${read.after}`));
    return server.release(peer);
  }
  const job = read.job;
  const still = job.state === "running" && job.worker === peer && job.assignment === read.assignment;
  // Released before the job fails: a wake-up sent meanwhile must not overtake the slot.
  peer.resolve(read.ack, still && data !== undefined ? assignPacket(job, read.reply, data) : NO_JOB);
  server.release(peer);
  if (!still || data !== undefined) return;
  if (outage && error !== undefined) return putBack(server, job, now, OUTAGE_RETRY_MS);
  const why = error ?? "the store no longer has it";
  server.count("payload_unavailable");
  server.effect({ kind: "log", level: "error", message: "job workload unreadable", fields: { handle: job.handle, error: why } });
  jobFailed(server, job, now, { message: `workload unreadable: ${why}` });
}
