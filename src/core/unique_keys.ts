/**
 * Coalescing keys: how a submission's unique becomes the key that live jobs
 * of one function share.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Starts the key of a "-" unique; a unique cannot hold a NUL, so no other key does. */
export const DIGEST_KEY = "-\0";

/**
 * The coalescing key of a unique: none for an empty unique (never coalesces),
 * the workload's digest for "-" (identical workloads coalesce; the stored
 * unique stays "-"), else the unique itself.
 */
export function uniqueKeyOf(unique: string, data: Uint8Array): string | undefined {
  if (unique === "") return undefined;
  if (unique === "-") return DIGEST_KEY + createHash("sha256").update(data).digest("base64");
  return unique;
}
