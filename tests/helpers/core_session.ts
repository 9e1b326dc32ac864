/**
 * The one harness for scripted sessions against the sans-I/O core: numbered
 * connections, a fake clock, packets encoded with `\0REQ` magic and pushed
 * through the real decoder (so the core sees real frames), and output parsed
 * per connection by a tiny parser of our own (it does not use the decoder, so
 * it can catch encoder mistakes). It plays the edge's part for effects:
 *
 * - store commits of new jobs (`persist`) are acknowledged at once
 *   (`autoAck`) or held until {@link CoreSession.ack};
 * - workload reads (`read`) are answered at once from {@link CoreSession.stored}
 *   (`autoRead`), or held until {@link CoreSession.answerReads};
 * - slices of bulk admin work run when asked ({@link CoreSession.continueBulk}).
 *
 * Output reads as strings: a packet is `NAME payload` (payload as latin1,
 * NULs kept; just `NAME` when empty) and admin text is `TEXT <bytes>`.
 */
import { Buffer } from "node:buffer";
import { JobServer } from "../../src/core/job_server.ts";
import { coreSettings } from "../../src/server/server_settings.ts";
import type { CoreOptions } from "../../src/core/core_options.ts";
import type { Effect } from "../../src/core/effect.ts";
import type { StoredJob } from "../../src/core/job.ts";
import { Decoder } from "../../src/protocol/decoder.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";

/** The session clock starts here (a whole second, so epochs convert exactly). */
export const T0 = 1_700_000_000_000;

/** Packet names by code, written out here rather than taken from the code under test. */
const NAMES: Record<number, string> = {
  1: "CAN_DO",
  2: "CANT_DO",
  3: "RESET_ABILITIES",
  4: "PRE_SLEEP",
  6: "NOOP",
  7: "SUBMIT_JOB",
  8: "JOB_CREATED",
  9: "GRAB_JOB",
  10: "NO_JOB",
  11: "JOB_ASSIGN",
  12: "WORK_STATUS",
  13: "WORK_COMPLETE",
  14: "WORK_FAIL",
  15: "GET_STATUS",
  16: "ECHO_REQ",
  17: "ECHO_RES",
  18: "SUBMIT_JOB_BG",
  19: "ERROR",
  20: "STATUS_RES",
  21: "SUBMIT_JOB_HIGH",
  22: "SET_CLIENT_ID",
  23: "CAN_DO_TIMEOUT",
  24: "ALL_YOURS",
  25: "WORK_EXCEPTION",
  26: "OPTION_REQ",
  27: "OPTION_RES",
  28: "WORK_DATA",
  29: "WORK_WARNING",
  30: "GRAB_JOB_UNIQ",
  31: "JOB_ASSIGN_UNIQ",
  32: "SUBMIT_JOB_HIGH_BG",
  33: "SUBMIT_JOB_LOW",
  34: "SUBMIT_JOB_LOW_BG",
  35: "SUBMIT_JOB_SCHED",
  36: "SUBMIT_JOB_EPOCH",
  37: "SUBMIT_REDUCE_JOB",
  38: "SUBMIT_REDUCE_JOB_BACKGROUND",
  39: "GRAB_JOB_ALL",
  40: "JOB_ASSIGN_ALL",
  41: "GET_STATUS_UNIQUE",
  42: "STATUS_RES_UNIQUE",
  102: "WORK_REPLACE",
  103: "WORK_REPLACED",
};

const CODES: Record<string, number> = Object.fromEntries(Object.entries(NAMES).map(([c, n]) => [n, Number(c)]));

/** Splits server output into `NAME payload` / `TEXT ...` strings; throws on anything malformed. */
export function parseOutput(buf: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < buf.length) {
    if (buf[i] !== 0) {
      let end = buf.indexOf(0, i);
      if (end === -1) end = buf.length;
      out.push("TEXT " + buf.toString("latin1", i, end));
      i = end;
      continue;
    }
    if (buf.length - i < 12) throw new Error(`truncated header at ${i}`);
    const magic = buf.toString("latin1", i, i + 4);
    if (magic !== "\0RES") throw new Error(`server sent magic ${JSON.stringify(magic)}`);
    const code = buf.readUInt32BE(i + 4);
    const size = buf.readUInt32BE(i + 8);
    if (i + 12 + size > buf.length) throw new Error(`truncated payload at ${i}`);
    const name = NAMES[code] ?? `UNKNOWN(${code})`;
    out.push(size === 0 ? name : `${name} ${buf.toString("latin1", i + 12, i + 12 + size)}`);
    i += 12 + size;
  }
  return out;
}

export class CoreSession {
  readonly core: JobServer;
  now = T0;
  /** Acknowledge every persist effect at once; when false they wait in `held`. */
  autoAck = true;
  /** Ids of persisted jobs waiting for {@link ack}. */
  readonly held: number[] = [];
  /** Every effect the core produced, in order (persist included). */
  effects: Effect[] = [];
  /** Answer every `read` effect at once from {@link stored}; when false they wait in `reads`. */
  autoRead = true;
  /** `read` effects waiting for {@link answerReads}, oldest first. */
  readonly reads: { id: number; token: number }[] = [];
  /**
   * The "store": each committed workload by job id, as the persist effect
   * carried it (the core may drop its own copy later); forgotten jobs leave.
   */
  readonly stored = new Map<number, Uint8Array>();
  readonly #decoders = new Map<number, Decoder>();
  readonly #out = new Map<number, Buffer>();

  constructor(options: Partial<CoreOptions> = {}) {
    // The settings at gearbox serve's defaults (the serve table is their one home), a fixed identity, no randomness.
    const identity = { handlePrefix: "H:t", version: "1.2.3", pid: 4242, verbose: "INFO", random: () => 0.5, storeReadsPayloads: false };
    this.core = new JobServer({ ...coreSettings(), ...identity, ...options });
  }

  /** Opens connections; connection `n` comes from 127.0.0.1:(50000 + n). */
  open(...conns: number[]): this {
    for (const c of conns) {
      this.core.open(c, "127.0.0.1", 50000 + c);
      this.#decoders.set(c, new Decoder());
    }
    return this;
  }

  close(conn: number): void {
    this.core.close(conn, this.now);
    this.#decoders.delete(conn);
    this.pump();
  }

  /** Sends one packet by name; arguments are joined with NULs (the last may hold NULs). */
  send(conn: number, name: string, ...args: string[]): void {
    const code = CODES[name];
    if (code === undefined) throw new Error(`no packet ${name}`);
    this.sendCode(conn, code, ...args);
  }

  sendCode(conn: number, code: number, ...args: string[]): void {
    this.raw(conn, encodePacket(code, args, undefined, "REQ"));
  }

  /** Pushes raw bytes (a string is taken as latin1) through the connection's decoder. */
  raw(conn: number, bytes: Uint8Array | string): void {
    const decoder = this.#decoders.get(conn);
    if (!decoder) throw new Error(`connection ${conn} is not open`);
    const chunk = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    for (const frame of decoder.push(chunk)) this.core.receive(conn, frame, this.now);
    this.pump();
  }

  /** Sends an admin line and returns exactly the text it got back (nothing else may arrive); opens `conn` on first use. */
  admin(conn: number, line: string, eol = "\r\n"): string {
    if (!this.#decoders.has(conn)) this.open(conn);
    this.raw(conn, line + eol);
    const got = this.take(conn);
    let text = "";
    for (const item of got) {
      if (!item.startsWith("TEXT ")) throw new Error(`admin ${JSON.stringify(line)} got a packet: ${item}`);
      text += item.slice(5);
    }
    return text;
  }

  /** Moves the clock forward and runs due deadlines. */
  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  advanceTo(when: number): void {
    this.now = when;
    this.core.tick(this.now);
    this.pump();
  }

  /** Answers held commits (all, or the given ids), with success or an error text. */
  ack(error?: string, ids?: number[]): void {
    const batch = ids ?? this.held.splice(0);
    if (ids) {
      for (const id of ids) {
        const i = this.held.indexOf(id);
        if (i !== -1) this.held.splice(i, 1);
      }
    }
    this.core.persisted(batch, error, this.now);
    this.pump();
  }

  /**
   * Answers held reads (all, or those of job `id`) from {@link stored}, or
   * with the store error `error` (`outage`: the store could not be reached);
   * a job the store lacks reads as undefined.
   */
  answerReads(error?: string, id?: number, outage = false): void {
    this.#answer(error, id, outage);
    this.pump();
  }

  #answer(error?: string, id?: number, outage = false): void {
    for (let i = 0; i < this.reads.length;) {
      const r = this.reads[i]!;
      if (id !== undefined && r.id !== id) {
        i++;
        continue;
      }
      this.reads.splice(i, 1);
      this.core.payloadRead(r.token, error === undefined ? this.stored.get(r.id) : undefined, error, this.now, outage);
    }
  }

  /** Gives stored jobs back to the core, as a start-up replay does; their workloads go into {@link stored}. */
  restore(jobs: StoredJob[]): void {
    for (const j of jobs) if (j.data !== undefined) this.stored.set(j.id, j.data);
    this.core.restore(jobs, this.now);
    this.pump();
  }

  /** Runs one slice of bulk admin work, as the edge does on a later loop turn; true while more remains. */
  continueBulk(): boolean {
    const more = this.core.continueBulk(this.now);
    this.pump();
    return more;
  }

  /** Drains the core until quiet, acknowledging commits (`autoAck`) and answering reads (`autoRead`). */
  pump(): void {
    for (;;) {
      const { output, effects } = this.core.drain();
      for (const [conn, chunks] of output) {
        this.#out.set(conn, Buffer.concat([this.#out.get(conn) ?? Buffer.alloc(0), ...chunks]));
      }
      this.effects.push(...effects);
      const ids: number[] = [];
      for (const e of effects) this.#store(e, ids);
      const reading = this.autoRead && this.reads.length > 0;
      if (reading) this.#answer();
      if (ids.length > 0 && !this.autoAck) this.held.push(...ids);
      else if (ids.length > 0) this.core.persisted(ids, undefined, this.now);
      else if (!reading) return;
    }
  }

  /** What the store side of an effect does here: keeps workloads, forgets them, queues reads and commits to answer. */
  #store(e: Effect, ids: number[]): void {
    if (e.kind === "persist") {
      ids.push(e.job.id);
      if (e.job.data !== undefined) this.stored.set(e.job.id, e.job.data);
    } else if (e.kind === "replace") {
      for (const j of e.add) if (j.data !== undefined) this.stored.set(j.id, j.data);
      if (e.remove !== undefined) this.stored.delete(e.remove);
    } else if (e.kind === "forget") this.stored.delete(e.id);
    else if (e.kind === "read") this.reads.push({ id: e.id, token: e.token });
  }

  /** Admin text a connection received since the last call (a reply that finished later, after bulk slices or a read). */
  text(conn: number): string {
    let text = "";
    for (const item of this.take(conn)) {
      if (!item.startsWith("TEXT ")) throw new Error(`expected only text on ${conn}, got a packet: ${item}`);
      text += item.slice(5);
    }
    return text;
  }

  /** Packets a connection received since the last take, by name, with the payload split at every NUL. */
  packets(conn: number): { name: string; args: string[] }[] {
    return this.take(conn).map((item) => {
      const at = item.indexOf(" ");
      return at === -1 ? { name: item, args: [""] } : { name: item.slice(0, at), args: item.slice(at + 1).split("\0") };
    });
  }

  /** What a connection received since the last take, parsed. */
  take(conn: number): string[] {
    const buf = this.#out.get(conn);
    this.#out.delete(conn);
    return buf ? parseOutput(buf) : [];
  }

  /** Effects of one kind produced since the last call (removed from `effects`). */
  takeEffects<K extends Effect["kind"]>(kind: K): Extract<Effect, { kind: K }>[] {
    const hit = this.effects.filter((e) => e.kind === kind) as Extract<Effect, { kind: K }>[];
    this.effects = this.effects.filter((e) => e.kind !== kind);
    return hit;
  }

  // ---- shorthands for common roles -------------------------------------------

  /** CAN_DO for each function, in order. */
  canDo(conn: number, ...fns: string[]): void {
    for (const f of fns) this.send(conn, "CAN_DO", f);
  }

  /** CAN_DO for each function, then PRE_SLEEP (no job is waiting, so it sleeps). */
  sleeper(conn: number, ...fns: string[]): void {
    this.canDo(conn, ...fns);
    this.send(conn, "PRE_SLEEP");
  }

  /** Submits (arguments as for `send`) and returns the handle from the JOB_CREATED the connection got. */
  submit(conn: number, name: string, ...args: string[]): string {
    this.send(conn, name, ...args);
    const got = this.take(conn);
    if (got.length !== 1 || !got[0]!.startsWith("JOB_CREATED ")) {
      throw new Error(`${name} ${args.slice(0, 2).join("/")}: expected one JOB_CREATED, got ${JSON.stringify(got)}`);
    }
    return got[0]!.slice("JOB_CREATED ".length);
  }

  /** `status` as sent by connection `admin` (opened on first use). */
  status(admin = 99): string {
    if (!this.#decoders.has(admin)) this.open(admin);
    return this.admin(admin, "status");
  }
}
