/**
 * PostgreSQL's binary COPY format (`COPY ... FROM STDIN (FORMAT binary)`),
 * encoded for the few column types gearbox writes, so a batch of new jobs
 * reaches the server as one buffer of raw values: no text rendering of
 * numbers, no hex of workloads, nothing for the server to parse.
 *
 * The format: the 11-byte signature, a 32-bit flags field and a 32-bit
 * header-extension length (both 0); then per row a 16-bit field count and,
 * per field, a 32-bit byte length (-1 for NULL) and the value in network
 * byte order (`bigint` 8 bytes, `integer` 4, `smallint` 2, `text` its UTF-8
 * bytes, `bytea` its bytes); then a 16-bit -1. Pure: no I/O.
 *
 * @module
 */
import type { SqlValue } from "../runtime/sqlite.ts";

export type CopyType = "bigint" | "integer" | "smallint" | "text" | "bytea";

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]; // "PGCOPY\n\377\r\n\0"
const HEADER = SIGNATURE.length + 8;
const FIXED: Record<CopyType, number> = { bigint: 8, integer: 4, smallint: 2, text: 0, bytea: 0 };
const RANGE: Partial<Record<CopyType, [number, number]>> = {
  integer: [-0x80000000, 0x7fffffff],
  smallint: [-0x8000, 0x7fff],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
const utf8 = new TextEncoder();

/** Rows (one value per column, in `types`' order) as one binary COPY stream, header and trailer included. */
export function encodeCopy(types: readonly CopyType[], rows: readonly (readonly SqlValue[])[]): Uint8Array {
  const out = new Uint8Array(upperBound(types, rows));
  const view = new DataView(out.buffer);
  out.set(SIGNATURE, 0);
  let at = HEADER; // flags and extension length stay 0
  for (const row of rows) {
    if (row.length !== types.length) throw new RangeError(`a row has ${row.length} values for ${types.length} columns`);
    view.setInt16(at, types.length);
    at += 2;
    for (let c = 0; c < types.length; c++) at = field(out, view, at, types[c]!, row[c]!);
  }
  view.setInt16(at, -1);
  return out.subarray(0, at + 2);
}

/** Bytes enough for every row: text counted at 3 bytes a UTF-16 unit, the most UTF-8 needs. */
function upperBound(types: readonly CopyType[], rows: readonly (readonly SqlValue[])[]): number {
  let fixed = 2;
  for (const t of types) fixed += 4 + FIXED[t];
  let n = HEADER + 2 + rows.length * fixed;
  for (const row of rows) {
    for (let c = 0; c < types.length; c++) {
      const v = row[c];
      if (typeof v === "string") n += v.length * 3;
      else if (v instanceof Uint8Array) n += v.byteLength;
    }
  }
  return n;
}

function field(out: Uint8Array, view: DataView, at: number, type: CopyType, v: SqlValue | undefined): number {
  if (v === null || v === undefined) {
    view.setInt32(at, -1);
    return at + 4;
  }
  if (type === "text") {
    if (typeof v !== "string") throw new TypeError(`a text column got ${typeof v}`);
    const written = text(out, at + 4, v);
    view.setInt32(at, written);
    return at + 4 + written;
  }
  if (type === "bytea") {
    if (!(v instanceof Uint8Array)) throw new TypeError(`a bytea column got ${typeof v}`);
    view.setInt32(at, v.byteLength);
    out.set(v, at + 4);
    return at + 4 + v.byteLength;
  }
  return integer(view, at, type, v);
}

/** Writes `v` as UTF-8 at `at`; its byte length. Short ASCII (handles, names) is copied byte by byte, without a view. */
function text(out: Uint8Array, at: number, v: string): number {
  const n = v.length;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c > 0x7f) return utf8.encodeInto(v, out.subarray(at)).written;
    out[at + i] = c;
  }
  return n;
}

function integer(view: DataView, at: number, type: CopyType, v: SqlValue): number {
  if (typeof v === "bigint" && type === "bigint") {
    view.setInt32(at, 8);
    view.setBigInt64(at + 4, v);
    return at + 12;
  }
  const [lo, hi] = RANGE[type]!;
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`a ${type} column got ${typeof v === "number" ? v : typeof v}`);
  }
  const size = FIXED[type];
  view.setInt32(at, size);
  if (type === "smallint") view.setInt16(at + 4, v);
  else if (type === "integer") view.setInt32(at + 4, v);
  else {
    const high = Math.floor(v / 0x100000000);
    view.setInt32(at + 4, high);
    view.setUint32(at + 8, v - high * 0x100000000);
  }
  return at + 4 + size;
}
