/**
 * Turns a `--store` URL into a store.
 *
 * @module
 */
import { type JobStore, StoreError } from "./job_store.ts";
import { MemoryStore } from "./memory_store.ts";

/** Store URLs this build understands. */
export const STORE_SCHEMES = ["memory:"] as const;

export function openStore(url: string): JobStore {
  if (url === "memory:" || url === "memory") return new MemoryStore();
  throw new StoreError("BAD_STORE_URL", `unsupported store URL ${JSON.stringify(url)} (supported: ${STORE_SCHEMES.join(", ")})`);
}
