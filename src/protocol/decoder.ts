/**
 * Incremental decoder: bytes in, frames out. Input may be split anywhere;
 * limits are enforced while parsing (a too-large size is refused from the
 * header, before any allocation; an overlong admin line is refused as soon as
 * it passes the cap). It never reads past a packet's declared size.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { argumentCount, COMMANDS, MAX_COMMAND } from "./commands.ts";
import { latin1 } from "./latin1_args.ts";
import { dataStart, Packet } from "./packet.ts";
import { ProtocolError } from "./protocol_error.ts";

export { Packet } from "./packet.ts";

/** One admin text line, without its line ending. */
export interface TextLine {
  readonly kind: "text";
  readonly line: string;
}

/** A rejected input; `error.fatal` says whether the stream is still in sync. */
export interface Fault {
  readonly kind: "fault";
  readonly error: ProtocolError;
}

/** Anything the decoder produces. */
export type Frame = Packet | TextLine | Fault;

/** Limits the decoder enforces while parsing. */
export interface DecoderLimits {
  /** Largest accepted payload in bytes. */
  maxPacketBody: number;
  /** Longest accepted admin text line in bytes (line ending excluded). */
  maxAdminLine: number;
}

/** Options for {@link Decoder}. */
export interface DecoderOptions extends Partial<DecoderLimits> {
  /** The magic this side expects to receive: `REQ` on a server, `RES` on a client. */
  expect?: "REQ" | "RES";
  /** Whether a non-NUL first byte starts an admin text line (server side). */
  text?: boolean;
}

const HEADER = 12;
/** Packet objects kept for reuse per decoder (one read's worth of small requests is far fewer). */
const FREE_PACKETS = 64;
const EMPTY = new Uint8Array(0);
const MAGIC_REQ = 0x00524551; // "\0REQ"
const MAGIC_RES = 0x00524553; // "\0RES"

const enum State {
  Boundary,
  Header,
  Body,
  Skip,
  Text,
}

/** Default limits (see docs/protocol.md §1.4 and docs/reliability.md b6, b33). */
export const DEFAULT_DECODER_LIMITS: DecoderLimits = {
  maxPacketBody: 16 * 1024 * 1024,
  maxAdminLine: 8 * 1024,
};

/**
 * Splits a byte stream into Gearman packets and admin text lines.
 *
 * @example
 * ```ts
 * const d = new Decoder();
 * for (const frame of d.push(bytes)) console.log(frame.kind);
 * ```
 */
export class Decoder {
  readonly #limits: DecoderLimits;
  readonly #expect: number;
  readonly #other: number;
  readonly #text: boolean;
  #state = State.Boundary;
  #header = new Uint8Array(HEADER);
  #headerFill = 0;
  #code = 0;
  #size = 0;
  #body: Uint8Array = new Uint8Array(0);
  #bodyFill = 0;
  #skipLeft = 0;
  #skipFault: ProtocolError | undefined;
  #lineParts: Uint8Array[] = [];
  #lineLength = 0;
  #closed = false;
  /** Packets the caller is done with, made into later ones (see {@link recycle}). */
  readonly #free: Packet[] = [];

  constructor(options: DecoderOptions = {}) {
    this.#limits = {
      maxPacketBody: options.maxPacketBody ?? DEFAULT_DECODER_LIMITS.maxPacketBody,
      maxAdminLine: options.maxAdminLine ?? DEFAULT_DECODER_LIMITS.maxAdminLine,
    };
    const expectRes = options.expect === "RES";
    this.#expect = expectRes ? MAGIC_RES : MAGIC_REQ;
    this.#other = expectRes ? MAGIC_REQ : MAGIC_RES;
    this.#text = options.text ?? !expectRes;
  }

  /**
   * The caller is done with a frame (it keeps no reference to it): a packet
   * object is made into a later one, so a steady stream of requests makes
   * none. The server's input pump calls this after each request is handled.
   */
  recycle(frame: Frame): void {
    // Emptied first: a kept packet must not pin its bytes (a 1 MiB packet in 200 connections' lists).
    if (frame.kind === "packet" && !Object.isFrozen(frame) && this.#free.length < FREE_PACKETS) this.#free.push(frame.empty());
  }

  /** Bytes of a frame that has started but is not complete yet. */
  get pendingBytes(): number {
    switch (this.#state) {
      case State.Header:
        return this.#headerFill;
      case State.Body:
        return HEADER + this.#bodyFill;
      case State.Text:
        return this.#lineLength;
      default:
        return 0;
    }
  }

  /**
   * Feeds bytes; returns every frame they complete, appended to `out` (a
   * caller that keeps one array allocates none per read). After a fatal
   * fault, returns nothing more.
   */
  push(input: Uint8Array, out: Frame[] = []): Frame[] {
    if (this.#closed) return out;
    // A plain view: subarray() of a Buffer goes through Buffer's species
    // constructor, which profiling showed as a third of the submit path.
    const chunk = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.length);
    let pos = 0;
    const len = chunk.length;
    // Each step consumes bytes of one state and returns where it stopped; a fatal fault closes the decoder.
    while (pos < len && !this.#closed) {
      switch (this.#state) {
        case State.Boundary:
          pos = this.#atBoundary(chunk, pos, out);
          break;
        case State.Header:
          pos = this.#headerBytes(chunk, pos, out);
          break;
        case State.Body:
          pos = this.#bodyBytes(chunk, pos, out);
          break;
        case State.Skip:
          pos = this.#skipBytes(chunk, pos, out);
          break;
        case State.Text:
          pos = this.#textBytes(chunk, pos, out);
          break;
      }
    }
    return out;
  }

  /**
   * Between frames: a text line starts, or the whole packets that lie in this chunk are emitted
   * without a copy (one call for a run of them), or a header starts.
   */
  #atBoundary(chunk: Uint8Array, pos: number, out: Frame[]): number {
    const len = chunk.length;
    const max = this.#limits.maxPacketBody;
    while (pos < len && !this.#closed) {
      if (chunk[pos] !== 0 && this.#text) {
        // 0x16 starts a TLS record; no admin command does. Refuse at once
        // rather than wait for a newline that never comes.
        if (chunk[pos] === 0x16) this.#fail(out, new ProtocolError("TLS_ON_PLAINTEXT", undefined, true));
        else this.#state = State.Text;
        return pos;
      }
      // Fast path: a whole packet inside this chunk needs no copy.
      if (len - pos < HEADER) break;
      const size = u32(chunk, pos + 8);
      if (len - pos - HEADER < size || size > max) break;
      // The body is read in place (offsets into the chunk): no view of it is made.
      this.#emitPacket(out, u32(chunk, pos), u32(chunk, pos + 4), chunk, false, pos + HEADER, pos + HEADER + size);
      pos += HEADER + size;
    }
    if (pos < len && !this.#closed) {
      this.#state = State.Header;
      this.#headerFill = 0;
    }
    return pos;
  }

  #headerBytes(chunk: Uint8Array, pos: number, out: Frame[]): number {
    const take = Math.min(HEADER - this.#headerFill, chunk.length - pos);
    this.#header.set(chunk.subarray(pos, pos + take), this.#headerFill);
    this.#headerFill += take;
    if (this.#headerFill === HEADER) this.#startBody(out);
    return pos + take;
  }

  #bodyBytes(chunk: Uint8Array, pos: number, out: Frame[]): number {
    const take = Math.min(this.#size - this.#bodyFill, chunk.length - pos);
    this.#body.set(chunk.subarray(pos, pos + take), this.#bodyFill);
    this.#bodyFill += take;
    if (this.#bodyFill === this.#size) {
      const view = new DataView(this.#header.buffer);
      this.#state = State.Boundary;
      this.#emitPacket(out, view.getUint32(0), this.#code, this.#body, true);
      this.#body = new Uint8Array(0);
    }
    return pos + take;
  }

  #skipBytes(chunk: Uint8Array, pos: number, out: Frame[]): number {
    const take = Math.min(this.#skipLeft, chunk.length - pos);
    this.#skipLeft -= take;
    if (this.#skipLeft === 0) this.#finishSkip(out);
    return pos + take;
  }

  /** An admin line: its pieces are kept until the newline, within the line limit. */
  #textBytes(chunk: Uint8Array, pos: number, out: Frame[]): number {
    const len = chunk.length;
    const nl = chunk.indexOf(0x0a, pos);
    const piece = chunk.subarray(pos, nl === -1 ? len : nl);
    // One byte over the cap is allowed only for the \r of a \r\n ending.
    const total = this.#lineLength + piece.length;
    const max = this.#limits.maxAdminLine;
    if (total > max + 1 || (total === max + 1 && piece.length > 0 && piece[piece.length - 1] !== 0x0d)) {
      this.#fail(out, new ProtocolError("LINE_TOO_LONG", `over ${this.#limits.maxAdminLine} bytes`, true));
      return len;
    }
    if (nl === -1) {
      // Copy: the runtime may reuse the chunk after we return.
      this.#lineParts.push(Uint8Array.from(piece));
      this.#lineLength += piece.length;
      return len;
    }
    let bytes: Uint8Array = piece;
    if (this.#lineParts.length > 0) {
      this.#lineParts.push(piece);
      bytes = Buffer.concat(this.#lineParts, this.#lineLength + piece.length);
      this.#lineParts = [];
    }
    this.#lineLength = 0;
    this.#state = State.Boundary;
    let lineEnd = bytes.length;
    if (lineEnd > 0 && bytes[lineEnd - 1] === 0x0d) lineEnd--;
    out.push({ kind: "text", line: latin1(bytes, 0, lineEnd) });
    return nl + 1;
  }

  #startBody(out: Frame[]): void {
    const view = new DataView(this.#header.buffer);
    const magic = view.getUint32(0);
    const code = view.getUint32(4);
    const size = view.getUint32(8);
    if (magic !== this.#expect && magic !== this.#other) {
      this.#fail(out, new ProtocolError("BAD_MAGIC"));
      return;
    }
    // Same order of verdicts as #emitPacket, so a packet gets the same answer
    // whole or split: a response magic is skipped whatever its type.
    if (code === 0 && magic === this.#expect) {
      this.#fail(out, new ProtocolError("RESERVED_COMMAND"));
      return;
    }
    if (size > this.#limits.maxPacketBody) {
      this.#fail(out, new ProtocolError("PACKET_TOO_LARGE", `${size} > ${this.#limits.maxPacketBody} bytes`));
      return;
    }
    this.#code = code;
    this.#size = size;
    // Bodies we will reject anyway are skipped rather than buffered.
    const skip = magic !== this.#expect
      ? new ProtocolError("RESPONSE_MAGIC")
      : COMMANDS[code] === undefined
      ? new ProtocolError("UNKNOWN_COMMAND", `type ${code}`)
      : undefined;
    if (skip) {
      this.#skipFault = skip;
      this.#skipLeft = size;
      this.#state = State.Skip;
      if (size === 0) this.#finishSkip(out);
      return;
    }
    if (size === 0) {
      this.#state = State.Boundary;
      this.#emitPacket(out, magic, code, EMPTY, true);
      return;
    }
    this.#body = new Uint8Array(size);
    this.#bodyFill = 0;
    this.#state = State.Body;
  }

  #finishSkip(out: Frame[]): void {
    this.#state = State.Boundary;
    out.push({ kind: "fault", error: this.#skipFault! });
    this.#skipFault = undefined;
  }

  #emitPacket(out: Frame[], magic: number, code: number, body: Uint8Array, owned: boolean, start = 0, end = body.length): void {
    if (magic !== this.#expect) {
      if (magic === this.#other) {
        out.push({ kind: "fault", error: new ProtocolError("RESPONSE_MAGIC") });
      } else {
        this.#fail(out, new ProtocolError("BAD_MAGIC"));
      }
      return;
    }
    if (code === 0) {
      this.#fail(out, new ProtocolError("RESERVED_COMMAND"));
      return;
    }
    const spec = code <= MAX_COMMAND ? COMMANDS[code] : undefined;
    if (spec === undefined) {
      out.push({ kind: "fault", error: new ProtocolError("UNKNOWN_COMMAND", `type ${code}`) });
      return;
    }
    const dataAt = dataStart(spec, body, start, end);
    if (dataAt === undefined) out.push({ kind: "fault", error: new ProtocolError("INVALID_PACKET", spec.name) });
    // The common empty ones (GRAB_JOB*, PRE_SLEEP, NOOP) are one shared object each: nothing to allocate.
    else if (start === end && argumentCount(spec) === 0) out.push(BARE[code] ??= Packet.bare(spec));
    else out.push(this.#free.pop()?.reuse(spec, body, start, end, dataAt, owned) ?? new Packet(spec, body, start, end, dataAt, owned));
  }

  #fail(out: Frame[], error: ProtocolError): void {
    this.#closed = true;
    out.push({ kind: "fault", error });
  }
}

/** The argument-less packets without a payload, one frozen object per code. */
const BARE: Packet[] = [];

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
