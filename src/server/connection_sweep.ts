/**
 * The once-a-second sweep of connection deadlines: a connection that sent
 * no request before the handshake timeout, one whose half-sent packet
 * arrives too slowly, and one that does not read its output before the
 * stall timeout are dropped (docs/reliability.md). It runs on the server's
 * clock, so a manual clock's `advance` sweeps too.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import type { Connection } from "./connection.ts";
import type { EdgeSettings } from "./server_settings.ts";

const SWEEP_MS = 1000;

export class ConnectionSweep {
  readonly #connections: ReadonlyMap<number, Connection>;
  readonly #edge: EdgeSettings;
  readonly #clock: Clock;
  readonly #drop: (conn: Connection, reason: string) => void;
  #timer: unknown;
  #running = false;

  constructor(
    connections: ReadonlyMap<number, Connection>,
    edge: EdgeSettings,
    clock: Clock,
    drop: (conn: Connection, reason: string) => void,
  ) {
    this.#connections = connections;
    this.#edge = edge;
    this.#clock = clock;
    this.#drop = drop;
  }

  start(): void {
    this.#running = true;
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    this.#clock.clearTimeout(this.#timer);
  }

  /** One sweep a second, each timer set after the last sweep (a clock's timers fire once). */
  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => {
      if (!this.#running) return;
      this.sweep(this.#clock.now());
      this.#arm();
    }, SWEEP_MS);
  }

  /** Enforces the handshake, half-packet and stalled-output deadlines. */
  sweep(now: number): void {
    const s = this.#edge;
    for (const conn of this.#connections.values()) {
      if (conn.stalledSince !== undefined) {
        // We are not reading: a half-sent packet is ours to wait for, not the client's fault.
        if (s.outputStallTimeoutMs > 0 && now - conn.stalledSince > s.outputStallTimeoutMs) {
          this.#drop(conn, "output not read before the stall timeout");
        }
      } else if (conn.held) {
        // Its input waits for its turn: we are not reading, so no deadline of the client's runs.
      } else if (s.handshakeTimeoutMs > 0 && !conn.greeted && now - conn.openedAt > s.handshakeTimeoutMs) {
        this.#drop(conn, "no request before the handshake timeout");
      } else if (s.partialPacketTimeoutMs > 0 && conn.partialSince !== undefined && now - conn.partialSince > s.partialPacketTimeoutMs) {
        const rate = (conn.bytesIn - conn.partialBytesAtStart) / ((now - conn.partialSince) / 1000);
        if (rate < s.minPartialRate) this.#drop(conn, "half-sent packet too slow");
      }
    }
  }
}
