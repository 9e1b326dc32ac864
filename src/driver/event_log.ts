/**
 * The driver's last events (scaling, starts, stops, deaths, timeouts,
 * console changes), numbered, for the console's `events` and `gearbox top`.
 *
 * @module
 */
import type { DriverEvent } from "../client/driver_console.ts";

/** Events kept. */
const MAX_EVENTS = 500;

/** Notes an event for the console (`EventLog.add`). */
export type NoteEvent = (kind: DriverEvent["kind"], job: string, text: string) => void;

export class EventLog {
  readonly #events: DriverEvent[] = [];
  #seq = 0;

  add(kind: DriverEvent["kind"], job: string, text: string): void {
    this.#events.push({ seq: ++this.#seq, at: Date.now(), job, kind, text });
    if (this.#events.length > MAX_EVENTS) this.#events.splice(0, this.#events.length - MAX_EVENTS);
  }

  /** The kept events numbered above `seq`. */
  since(seq: number): DriverEvent[] {
    return this.#events.filter((e) => e.seq > seq);
  }
}
