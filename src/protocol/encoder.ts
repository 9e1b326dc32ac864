/**
 * Packet → bytes. String arguments are written as latin1 so any byte the
 * decoder read comes back out unchanged.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/**
 * Encodes one packet: string arguments separated by NUL, then the opaque
 * `data` argument (if given) with no terminator.
 *
 * @example
 * ```ts
 * encodePacket(Cmd.JOB_CREATED, ["H:host:1"]);
 * ```
 */
export function encodePacket(
  code: number,
  args: readonly string[] = [],
  data?: Uint8Array,
  magic: "RES" | "REQ" = "RES",
): Uint8Array {
  let size = 0;
  for (const a of args) size += a.length;
  const seps = data === undefined ? Math.max(args.length - 1, 0) : args.length;
  size += seps + (data?.length ?? 0);
  const out = Buffer.allocUnsafe(12 + size);
  writeHeader(out, magic === "RES" ? 0x53 : 0x51, code, size);
  let pos = 12;
  for (let i = 0; i < args.length; i++) {
    pos = writeLatin1(out, pos, args[i]!);
    if (i < args.length - 1 || data !== undefined) out[pos++] = 0;
  }
  if (data !== undefined) out.set(data, pos);
  return out;
}

/** Replies up to this payload size are allocated zeroed by the JIT; larger ones uninitialised. */
const SMALL_REPLY = 1024;

/**
 * Encodes a response whose first argument is a job handle `<prefix>:<id>`,
 * written from its parts, then up to three more string arguments and the
 * opaque data: the hot replies (JOB_CREATED, JOB_ASSIGN*, WORK_*) without
 * building the handle string or an argument array.
 */
export function encodeHandlePacket(code: number, prefix: string, id: number, data?: Uint8Array, a1?: string, a2?: string, a3?: string) {
  const size = handlePacketSize(prefix, id, data, a1, a2, a3);
  // Small replies: a plain Uint8Array, allocated inline by the JIT (Buffer.allocUnsafe is a
  // native call). Large ones: not zero-filled first (a 64 KiB reply would be written twice).
  const out = size <= SMALL_REPLY ? new Uint8Array(12 + size) : Buffer.allocUnsafe(12 + size);
  writeHandlePacket(out, 0, code, size, prefix, id, data, a1, a2, a3);
  return out;
}

/** The payload size of {@link encodeHandlePacket}'s packet (add 12 for the header). */
export function handlePacketSize(prefix: string, id: number, data?: Uint8Array, a1?: string, a2?: string, a3?: string): number {
  let size = prefix.length + 1 + digitsOf(id);
  if (a1 !== undefined) size += 1 + a1.length;
  if (a2 !== undefined) size += 1 + a2.length;
  if (a3 !== undefined) size += 1 + a3.length;
  if (data !== undefined) size += 1 + data.length;
  return size;
}

/** Writes {@link encodeHandlePacket}'s packet at `at` of a buffer with room for it; `size` is {@link handlePacketSize}'s. */
export function writeHandlePacket(
  out: Uint8Array,
  at: number,
  code: number,
  size: number,
  prefix: string,
  id: number,
  data?: Uint8Array,
  a1?: string,
  a2?: string,
  a3?: string,
): void {
  writeHeader(out, 0x53, code, size, at);
  let pos = writeHandle(out, at + 12, prefix, id);
  if (a1 !== undefined) pos = copyLatin1(out, (out[pos] = 0, pos + 1), a1);
  if (a2 !== undefined) pos = copyLatin1(out, (out[pos] = 0, pos + 1), a2);
  if (a3 !== undefined) pos = copyLatin1(out, (out[pos] = 0, pos + 1), a3);
  if (data !== undefined) {
    out[pos] = 0;
    out.set(data, pos + 1);
  }
}

/** Node's Buffer copy, which takes any Uint8Array as its source: a range copied without a view of it (Bun and Deno). */
const bufferCopy = Buffer.prototype.copy as unknown as (
  this: Uint8Array,
  target: Uint8Array,
  at: number,
  from: number,
  to: number,
) => number;

/** Copies `src[from, to)` to `out` at `at`. */
export function copyBytes(src: Uint8Array, from: number, to: number, out: Uint8Array, at: number): void {
  bufferCopy.call(src, out, at, from, to);
}

/** A job handle as things to encode: the boot's prefix and the id (`<prefix>:<id>`). */
export interface HandleParts {
  readonly prefix: string;
  readonly id: number;
}

/**
 * Encodes one handle-only response (JOB_CREATED) per job of
 * `jobs[from, to)` into a single buffer, in order: the acknowledgements of one commit for one connection
 * go out as one write, with no buffer per reply.
 */
export function encodeHandlePackets(code: number, jobs: readonly HandleParts[], from = 0, to = jobs.length): Uint8Array {
  const size = handlePacketsSize(jobs, from, to);
  const out = size <= SMALL_REPLY ? new Uint8Array(size) : Buffer.allocUnsafe(size);
  writeHandlePackets(out, 0, code, jobs, from, to);
  return out;
}

/** The bytes of {@link encodeHandlePackets}' packets, headers included. */
export function handlePacketsSize(jobs: readonly HandleParts[], from: number, to: number): number {
  let size = 0;
  for (let k = from; k < to; k++) size += 12 + jobs[k]!.prefix.length + 1 + digitsOf(jobs[k]!.id);
  return size;
}

/** Writes {@link encodeHandlePackets}' packets at `at` of a buffer with room for them (a connection's ready output). */
export function writeHandlePackets(
  out: Uint8Array,
  at: number,
  code: number,
  jobs: readonly HandleParts[],
  from: number,
  to: number,
): void {
  let pos = at;
  for (let k = from; k < to; k++) {
    const j = jobs[k]!;
    const prefix = j.prefix;
    const digits = digitsOf(j.id); // once: an id of a cluster node's range has 13 digits or more
    writeHeader(out, 0x53, code, prefix.length + 1 + digits, pos);
    pos = writeHandle(out, pos + 12, prefix, j.id, digits);
  }
}

/** Writes `<prefix>:<id>` at `pos`; returns the position after it. */
function writeHandle(out: Uint8Array, pos: number, prefix: string, id: number, digits = digitsOf(id)): number {
  pos = copyLatin1(out, pos, prefix);
  out[pos++] = 0x3a; // ":"
  for (let i = pos + digits - 1, v = id; i >= pos; i--, v = Math.floor(v / 10)) out[i] = 0x30 + (v % 10);
  return pos + digits;
}

/** How many decimal digits a job id has. */
export function digitsOf(id: number): number {
  let digits = 1;
  for (let v = id; v >= 10; v = Math.floor(v / 10)) digits++;
  return digits;
}

/** Copies a latin1 string's chars at `pos` (names, handles, uniques: short); returns the position after it. */
function copyLatin1(out: Uint8Array, pos: number, a: string): number {
  for (let j = 0; j < a.length; j++) out[pos++] = a.charCodeAt(j);
  return pos;
}

/** Writes a latin1 string at `pos`; returns the position after it. */
function writeLatin1(out: Buffer, pos: number, a: string): number {
  // Short strings (names, handles, numbers) are cheaper to copy by hand than through a native call.
  return a.length < 64 ? copyLatin1(out, pos, a) : pos + out.write(a, pos, "latin1");
}

/** The 12-byte header at `at`: "\0RE" and `last` ('S' for a response, 'Q' for a request), the code, the payload size. */
function writeHeader(out: Uint8Array, last: number, code: number, size: number, at = 0): void {
  out[at] = 0;
  out[at + 1] = 0x52; // R
  out[at + 2] = 0x45; // E
  out[at + 3] = last;
  writeU32(out, at + 4, code);
  writeU32(out, at + 8, size);
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** Encodes an admin text reply (latin1, so names round-trip byte for byte). */
export function encodeText(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}
