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
  out[0] = 0;
  out[1] = 0x52; // R
  out[2] = 0x45; // E
  out[3] = magic === "RES" ? 0x53 : 0x51; // S or Q
  writeU32(out, 4, code);
  writeU32(out, 8, size);
  let pos = 12;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    // Short strings (names, handles, numbers) are cheaper to copy by hand than through a native call.
    if (a.length < 64) { for (let j = 0; j < a.length; j++) out[pos++] = a.charCodeAt(j); }
    else pos += out.write(a, pos, "latin1");
    if (i < args.length - 1 || data !== undefined) out[pos++] = 0;
  }
  if (data !== undefined) out.set(data, pos);
  return out;
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
