/**
 * Drives the sans-I/O core directly for scripted sessions: numbered
 * connections, packets through the real decoder, a fake clock, and output
 * parsed per connection by a tiny independent parser. Store commits are
 * acknowledged at once unless `holdCommits` is set.
 */
import { Buffer } from "node:buffer";
import { type CoreOptions, type Effect, JobServer } from "../../src/core/mod.ts";
import { Decoder } from "../../src/protocol/decoder.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";

export interface Out {
  code: number;
  /** Payload split at every NUL. */
  args: string[];
}

export class CoreScript {
  readonly core: JobServer;
  now = 1_700_000_000_000;
  holdCommits = false;
  /** Persisted job ids waiting for `commit()` when commits are held. */
  readonly pending: number[] = [];
  readonly effects: Effect[] = [];
  readonly #decoders = new Map<number, Decoder>();
  readonly #out = new Map<number, Buffer>();

  constructor(options: Partial<CoreOptions> = {}) {
    this.core = new JobServer({ handlePrefix: "H:t", version: "9.9.9", pid: 4242, ...options });
  }

  open(...conns: number[]): void {
    for (const c of conns) {
      this.core.open(c, "127.0.0.1", 40000 + c);
      this.#decoders.set(c, new Decoder());
    }
  }

  close(conn: number): void {
    this.core.close(conn, this.now);
    this.pump();
  }

  /** Sends one request packet from a connection. */
  send(conn: number, code: number, ...args: string[]): void {
    this.raw(conn, rawPacket(code, args));
  }

  raw(conn: number, bytes: Uint8Array): void {
    if (!this.#decoders.has(conn)) this.open(conn);
    for (const frame of this.#decoders.get(conn)!.push(bytes)) this.core.receive(conn, frame, this.now);
    this.pump();
  }

  /** Sends an admin line and returns the text the connection received. */
  admin(conn: number, line: string): string {
    this.raw(conn, Buffer.from(line + "\r\n", "latin1"));
    const text = (this.#out.get(conn) ?? Buffer.alloc(0)).toString("latin1");
    this.#out.delete(conn);
    return text;
  }

  /** Text a connection received since the last call (admin replies that finished later). */
  text(conn: number): string {
    const text = (this.#out.get(conn) ?? Buffer.alloc(0)).toString("latin1");
    this.#out.delete(conn);
    return text;
  }

  /** Runs one slice of bulk admin work, as the edge does on a later loop turn; true while more remains. */
  continueBulk(): boolean {
    const more = this.core.continueBulk(this.now);
    this.pump();
    return more;
  }

  advance(ms: number): void {
    this.now += ms;
    this.core.tick(this.now);
    this.pump();
  }

  /** Acknowledges held commits (or fails them with `error`). */
  commit(error?: string): void {
    const ids = this.pending.splice(0);
    this.core.persisted(ids, error, this.now);
    this.pump();
  }

  pump(): void {
    for (;;) {
      const { output, effects } = this.core.drain();
      for (const [conn, chunks] of output) {
        this.#out.set(conn, Buffer.concat([this.#out.get(conn) ?? Buffer.alloc(0), ...chunks]));
      }
      this.effects.push(...effects);
      const persisted = effects.filter((e) => e.kind === "persist").map((e) => (e as { job: { id: number } }).job.id);
      if (persisted.length === 0) return;
      if (this.holdCommits) {
        this.pending.push(...persisted);
        return;
      }
      this.core.persisted(persisted, undefined, this.now);
    }
  }

  /** Packets a connection received since the last call. */
  take(conn: number): Out[] {
    let buf = this.#out.get(conn) ?? Buffer.alloc(0);
    this.#out.delete(conn);
    const out: Out[] = [];
    while (buf.length >= 12) {
      if (buf.toString("latin1", 0, 4) !== "\0RES") throw new Error(`not a response: ${buf.toString("latin1")}`);
      const size = buf.readUInt32BE(8);
      out.push({ code: buf.readUInt32BE(4), args: buf.toString("latin1", 12, 12 + size).split("\0") });
      buf = buf.subarray(12 + size);
    }
    if (buf.length > 0) throw new Error("partial packet in output");
    return out;
  }

  /** Asserts-friendly: `CODE:arg|arg` strings for what a connection received. */
  seen(conn: number): string[] {
    return this.take(conn).map((p) => `${p.code}:${p.args.join("|")}`);
  }
}

function rawPacket(code: number, args: string[]): Uint8Array {
  return encodePacket(code, args, undefined, "REQ");
}
