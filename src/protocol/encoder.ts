/**
 * Packet → bytes. String arguments are written as latin1 so any byte the
 * decoder read comes back out unchanged.
 *
 * @module
 */
import { Buffer } from "node:buffer";

const MAGIC_REQ = 0x00524551;
const MAGIC_RES = 0x00524553;

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
  out.writeUInt32BE(magic === "RES" ? MAGIC_RES : MAGIC_REQ, 0);
  out.writeUInt32BE(code, 4);
  out.writeUInt32BE(size, 8);
  let pos = 12;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    pos += out.write(a, pos, "latin1");
    if (i < args.length - 1 || data !== undefined) out[pos++] = 0;
  }
  if (data !== undefined) out.set(data, pos);
  return out;
}

/** Encodes an admin text reply (latin1, so names round-trip byte for byte). */
export function encodeText(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}

/** Turns a latin1 wire string into bytes (e.g. to compare a unique with data). */
export function latin1Bytes(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}
