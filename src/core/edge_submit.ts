/**
 * A background job the edge submits itself, with no connection behind it
 * (a schedule's slot, docs/schedules.md): the same checks and coalescing as
 * a SUBMIT_JOB_BG, the same `persist` effect, but nobody waits for the
 * store's answer, so the edge learns the job's id at once and can put its
 * own changes into the same commit.
 *
 * @module
 */
import { Cmd, COMMANDS } from "../protocol/commands.ts";
import { Packet } from "../protocol/packet.ts";
import { checkSubmission, coalesced, createJob } from "./client_requests.ts";
import type { CoreContext } from "./core_context.ts";
import { type Priority, toStored } from "./job.ts";

/** What the edge asks for. */
export interface EdgeSubmission {
  function: string;
  unique: string;
  data: Uint8Array;
  priority: Priority;
}

/** The job made (`created`) or the live one it coalesced with, or why it was refused. */
export type EdgeSubmitted =
  | { id: number; handle: string; created: boolean }
  | { refused: string; text: string };

export function edgeSubmit(server: CoreContext, sub: EdgeSubmission, now: number): EdgeSubmitted {
  const packet = Packet.of(COMMANDS[Cmd.SUBMIT_JOB_BG]!, [sub.function, sub.unique], sub.data);
  const checked = checkSubmission(server, packet, now, { priority: sub.priority, background: true });
  if ("code" in checked) {
    server.count(checked.count);
    return { refused: checked.code, text: checked.text };
  }
  const existing = coalesced(server, checked);
  if (existing) {
    server.count("coalesced");
    return { id: existing.id, handle: existing.handle, created: false };
  }
  const job = createJob(server, checked, now);
  server.effect({ kind: "persist", job: toStored(job) });
  return { id: job.id, handle: job.handle, created: true };
}
