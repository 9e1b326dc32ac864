/**
 * Packet arguments as strings: bytes read as latin1 (so every byte comes
 * back out unchanged), and function names compared with the previous one
 * before they are decoded.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { COMMANDS } from "./commands.ts";

/** Packet codes whose first argument is a function name (SUBMIT_*, CAN_DO*, CANT_DO). */
export const NAME_FIRST: readonly boolean[] = Array.from(COMMANDS, (c) => c?.fields[0] === "function");

/**
 * The function name of the previous packet that began with one. A client or
 * worker names the same function packet after packet, so a name is compared
 * with it before it is decoded: no new string, and the function table finds
 * the name's hash already computed.
 */
let lastName = "";

export function nameAt(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  const last = lastName;
  if (n === last.length) {
    let i = 0;
    while (i < n && bytes[start + i] === last.charCodeAt(i)) i++;
    if (i === n) return last;
  }
  return (lastName = latin1(bytes, start, end));
}

/**
 * Buffer's native latin1 slice works on any Uint8Array in Bun and Deno and
 * makes one flat string: char-by-char concatenation made a rope of many
 * cells, kept alive as long as the string (a queued job's unique).
 */
const latin1Slice = (Buffer.prototype as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

export function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end === start) return "";
  if (latin1Slice) return latin1Slice.call(bytes, start, end);
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");
}
