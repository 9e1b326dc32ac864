/**
 * Turns a `--store` URL into a store.
 *
 * @module
 */
import { type JobStore, StoreError } from "./job_store.ts";
import { MemoryStore } from "./memory_store.ts";
import { PostgresStore } from "./postgres_store.ts";
import { isPostgresUrl, parsePostgresUrl } from "./postgres_url.ts";
import { SqliteStore } from "./sqlite_store.ts";

/** Store URLs this build understands. */
export const STORE_SCHEMES = [
  "memory:",
  "sqlite:PATH",
  "sqlite:PATH?synchronous=NORMAL",
  "postgres://USER[:PASS]@HOST[:PORT]/DB[?pool=N]",
] as const;

export function openStore(url: string): JobStore {
  if (url === "memory:" || url === "memory") return new MemoryStore();
  if (isPostgresUrl(url)) return new PostgresStore(parsePostgresUrl(url));
  if (url.startsWith("sqlite:")) {
    const [path, query] = url.slice("sqlite:".length).split("?", 2) as [string, string | undefined];
    if (path === "") throw new StoreError("BAD_STORE_URL", "sqlite: needs a file path, e.g. sqlite:gearbox.db");
    const sync = query ? new URLSearchParams(query).get("synchronous")?.toUpperCase() : undefined;
    if (sync !== undefined && sync !== "FULL" && sync !== "NORMAL") {
      throw new StoreError("BAD_STORE_URL", `synchronous must be FULL or NORMAL (NORMAL is not power-loss safe), got ${sync}`);
    }
    return new SqliteStore(path, { synchronous: sync as "FULL" | "NORMAL" | undefined });
  }
  throw new StoreError("BAD_STORE_URL", `unsupported store URL ${JSON.stringify(url)} (supported: ${STORE_SCHEMES.join(", ")})`);
}
