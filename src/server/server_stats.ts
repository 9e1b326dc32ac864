/**
 * What a server did, counted for `gearbox serve` to report and tests to check (`GearboxServer.stats`).
 *
 * @module
 */

import type { Histogram } from "../metrics/histogram.ts";

/** What the server did, for `gearbox serve` to report and tests to check. */
export interface ServerStats {
  connections: number;
  refusedConnections: number;
  commits: number;
  committedJobs: number;
  /** Seconds per successful store commit, and changes per commit (`gearbox_store_commit_seconds`, `gearbox_store_batch_jobs`). */
  commitSeconds: Readonly<Histogram>;
  batchJobs: Readonly<Histogram>;
  /** Bytes read from every connection so far (a test knows when the server has seen what it sent). */
  bytesRead: number;
  /** Open connections whose input is paused because they do not read their output. */
  stalled: number;
}
