/**
 * How many connections the server takes: `max_connections`, lowered to stay
 * under the process's file-descriptor limit, and the refusals past it,
 * counted and logged at most once per interval (a flood is refused by us,
 * never by accept() failing with EMFILE).
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { openFileLimit } from "../runtime/host_and_process.ts";

/** Descriptors kept free for the listener, the store's files, the runtime and logs. */
const FD_RESERVE = 32;

export class ConnectionLimit {
  readonly #configured: number;
  readonly #logger: Logger;
  /** max_connections, lowered when the file-descriptor limit is smaller. */
  #max: number;
  #fdLimited: number | undefined;
  /** Connections refused so far. */
  refused = 0;

  constructor(maxConnections: number, logger: Logger) {
    this.#configured = maxConnections;
    this.#max = maxConnections;
    this.#logger = logger;
  }

  /** The most connections open at once. */
  get max(): number {
    return this.#max;
  }

  /**
   * Keeps max_connections under the process's file-descriptor limit, so that
   * a flood is refused by us (one log line per interval) rather than by
   * accept() failing with EMFILE, which the runtime retries in a busy loop.
   */
  fitToFiles(): void {
    const files = openFileLimit();
    if (files === undefined) return;
    const reserve = Math.min(FD_RESERVE, Math.floor(files / 2));
    const room = Math.max(1, files - reserve);
    if (this.#configured <= room) return;
    this.#logger.warn("max_connections lowered to stay under the open file descriptor limit (raise `ulimit -n` to serve more)", {
      max_connections: this.#configured,
      now: room,
      fd_limit: files,
    });
    this.#fdLimited = files;
    this.#max = room;
  }

  /** Counts and logs one refused connection. */
  refuse(): void {
    this.refused++;
    if (this.#fdLimited === undefined) {
      this.#logger.limited("max_connections", 10_000, "warn", "connection refused: too many connections", { max: this.#max });
    } else {
      this.#logger.limited(
        "max_connections",
        10_000,
        "warn",
        "connection refused: too many connections for the open file descriptor limit (EMFILE avoided)",
        {
          max: this.#max,
          fd_limit: this.#fdLimited,
        },
      );
    }
  }
}
