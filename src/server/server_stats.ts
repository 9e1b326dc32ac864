/**
 * What a server did, counted for `gearbox serve` to report and tests to check (`GearboxServer.stats`).
 *
 * @module
 */

/** What the server did, for `gearbox serve` to report and tests to check. */
export interface ServerStats {
  connections: number;
  refusedConnections: number;
  commits: number;
  committedJobs: number;
  /** Bytes read from every connection so far (a test knows when the server has seen what it sent). */
  bytesRead: number;
  /** Open connections whose input is paused because they do not read their output. */
  stalled: number;
}
