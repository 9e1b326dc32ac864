/**
 * PostgreSQL's and the driver's failures as store errors with a sentence a
 * person can act on, always naming the store (its URL without the password).
 *
 * @module
 */
import { StoreError } from "./job_store.ts";

/** Network failures the driver reports by their system or own code. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

export function pgStoreError(e: unknown, display: string): StoreError {
  if (e instanceof StoreError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === "string" ? err.code : "";
  const message = typeof err?.message === "string" ? err.message : String(e);
  if (UNREACHABLE.has(code) || code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") {
    return new StoreError("STORE_UNAVAILABLE", `cannot reach the PostgreSQL store ${display} (${message})`);
  }
  if (code === "3D000") {
    return new StoreError("STORE_UNAVAILABLE", `the PostgreSQL store ${display} does not exist (${message}); create it first`);
  }
  if (code.startsWith("28")) return new StoreError("STORE_UNAVAILABLE", `the PostgreSQL store ${display} refused the login (${message})`);
  if (code === "53100") return new StoreError("STORE_FULL", `the PostgreSQL store ${display} is out of disk space (${message})`);
  if (code === "42501") return new StoreError("STORE_UNAVAILABLE", `the PostgreSQL store ${display}: permission denied (${message})`);
  if (code.startsWith("23")) return new StoreError("STORE_CORRUPT", `the PostgreSQL store ${display} refused a row (${message})`);
  return new StoreError("STORE_UNAVAILABLE", `the PostgreSQL store ${display}: ${message}${code ? ` (${code})` : ""}`);
}
