/**
 * A `--store postgres://USER[:PASS]@HOST[:PORT]/DB[?options]` URL (also
 * `postgresql://`), checked before anything connects: gearbox's own options
 * are taken out, the driver's few known ones pass through, anything else is
 * a mistake said at once rather than a setting silently ignored.
 *
 * @module
 */
import { StoreError } from "./job_store.ts";

/** gearbox's options, with their defaults; README's "PostgreSQL store" lists them. */
export const POSTGRES_DEFAULTS = { pool: 4, commits: 2, connectTimeoutS: 10 } as const;
/** Options passed on to the driver as they are. */
const DRIVER_OPTIONS = ["sslmode", "application_name"];

export interface PostgresTarget {
  /** What the driver connects to (gearbox's options removed). */
  connect: string;
  /** The URL for logs and messages: the password replaced by `***`. */
  display: string;
  /** Most connections open at once (`?pool=N`, 1 to 64). */
  pool: number;
  /**
   * Most commits of new jobs in flight at once (`?commits=N`, 1 to the pool;
   * default 2, or the pool if smaller): a burst's later reads commit beside
   * its first on another backend instead of waiting behind it.
   */
  commits: number;
  /** Seconds to wait for a connection before the store counts as unreachable (`?connect_timeout=S`). */
  connectTimeoutS: number;
}

/** Whether a `--store` URL names a PostgreSQL database. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

export function parsePostgresUrl(url: string): PostgresTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError("BAD_STORE_URL", `cannot read the store URL (expected postgres://USER[:PASS]@HOST[:PORT]/DB[?options])`);
  }
  const display = redacted(u);
  if (u.hostname === "") throw new StoreError("BAD_STORE_URL", `${display}: names no host`);
  if (u.pathname.length <= 1 || u.pathname.slice(1).includes("/")) {
    throw new StoreError("BAD_STORE_URL", `${display}: needs one database name after the host, e.g. postgres://gearbox@localhost/gearbox`);
  }
  const pool = intOption(u, "pool", POSTGRES_DEFAULTS.pool, 1, 64, display);
  const commits = intOption(u, "commits", Math.min(POSTGRES_DEFAULTS.commits, pool), 1, pool, display);
  const connectTimeoutS = intOption(u, "connect_timeout", POSTGRES_DEFAULTS.connectTimeoutS, 1, 3600, display);
  for (const key of u.searchParams.keys()) {
    if (!DRIVER_OPTIONS.includes(key)) {
      const known = ["pool", "commits", "connect_timeout", ...DRIVER_OPTIONS].join(", ");
      throw new StoreError("BAD_STORE_URL", `${display}: unknown option ${key} (known: ${known})`);
    }
  }
  return { connect: u.toString(), display, pool, commits, connectTimeoutS };
}

/** Reads and removes an integer option. */
function intOption(u: URL, key: string, fallback: number, min: number, max: number, display: string): number {
  const text = u.searchParams.get(key);
  u.searchParams.delete(key);
  if (text === null) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new StoreError("BAD_STORE_URL", `${display}: ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function redacted(u: URL): string {
  const copy = new URL(u.toString());
  if (copy.password !== "") copy.password = "***";
  return copy.toString();
}
