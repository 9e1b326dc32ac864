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
  return new CopyEncoder().encode(types, rows);
}

/** Above this, a stream gets a buffer of its own rather than growing the kept one. */
const MAX_KEPT = 16 * 1024 * 1024;

/**
 * Encodes COPY streams into one buffer kept from call to call: a commit's
 * stream is a few hundred kB, and a fresh buffer each time costs more than
 * the encoding (zero-filled, then page faults on memory the allocator had
 * given back). A stream is valid until the next `encode` on this encoder.
 * A stream may also be sent in parts ({@link CopyEncoder.part}: the header
 * with the first rows, more rows, the trailer), each valid until the next.
 */
export class CopyEncoder {
  #kept: Uint8Array = new Uint8Array(0);
  readonly #writer = new CopyWriter();

  /**
   * A part written row by row by `fill` through a {@link CopyWriter}, for a
   * caller that knows its columns (no array of values per row, no type
   * dispatch): the header when `opens`, the trailer when `closes`. Valid
   * until the next call, like {@link part}'s.
   */
  rows(opens: boolean, closes: boolean, fill: (w: CopyWriter) => void): Uint8Array {
    const w = this.#writer;
    w.start(this.#kept);
    if (opens) {
      w.ensure(HEADER);
      w.out.set(SIGNATURE, 0);
      w.view.setInt32(SIGNATURE.length, 0); // flags
      w.view.setInt32(SIGNATURE.length + 4, 0); // header extension length
      w.at = HEADER;
    }
    fill(w);
    if (closes) w.ensure(2), w.view.setInt16(w.at, -1), (w.at += 2);
    if (w.out !== this.#kept && w.out.length <= MAX_KEPT) this.#kept = w.out;
    return w.out.subarray(0, w.at);
  }

  /** {@link encodeCopy}, with `first` (when given) as every row's first value, before the row's own. */
  encode(types: readonly CopyType[], rows: readonly (readonly SqlValue[])[], first?: SqlValue): Uint8Array {
    return this.#encode(types, rows, first, true, true);
  }

  /**
   * A part of a stream sent in parts: the header when `opens`, the rows, the
   * trailer when `closes`. Like {@link encode}'s, valid until the next call
   * (the COPY stream copies a part it cannot send at once: `PgCopyStream.write`).
   */
  part(types: readonly CopyType[], rows: readonly (readonly SqlValue[])[], first: SqlValue, opens: boolean, closes: boolean): Uint8Array {
    return this.#encode(types, rows, first, opens, closes);
  }

  #encode(
    types: readonly CopyType[],
    rows: readonly (readonly SqlValue[])[],
    first: SqlValue | undefined,
    opens: boolean,
    closes: boolean,
  ): Uint8Array {
    return this.rows(opens, closes, (w) => {
      w.ensure(upperBound(types, rows, first));
      for (const row of rows) w.row(types, row, first);
    });
  }
}

/**
 * Writes fields at `at`, growing its buffer as asked ({@link ensure}): a
 * row is `fields(n)` then n values. Text takes up to 3 bytes a UTF-16 unit.
 */
export class CopyWriter {
  out: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.out.buffer);
  at = 0;

  start(out: Uint8Array): void {
    this.out = out;
    this.view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    this.at = 0;
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.at + n <= this.out.length) return;
    const bigger = new Uint8Array(Math.max(this.out.length * 2, this.at + n, 64 * 1024));
    bigger.set(this.out.subarray(0, this.at));
    this.out = bigger;
    this.view = new DataView(bigger.buffer);
  }

  fields(n: number): void {
    this.view.setInt16(this.at, n);
    this.at += 2;
  }

  text(v: string): void {
    const written = text(this.out, this.at + 4, v);
    this.view.setInt32(this.at, written);
    this.at += 4 + written;
  }

  bytes(v: Uint8Array): void {
    this.view.setInt32(this.at, v.byteLength);
    this.out.set(v, this.at + 4);
    this.at += 4 + v.byteLength;
  }

  int16(v: number): void {
    this.view.setInt32(this.at, 2);
    this.view.setInt16(this.at + 4, v);
    this.at += 6;
  }

  int32(v: number): void {
    this.view.setInt32(this.at, 4);
    this.view.setInt32(this.at + 4, v);
    this.at += 8;
  }

  /** A whole number below 2^53 (ids, times, checksums) as a `bigint` field. */
  int64(v: number): void {
    const high = Math.floor(v / 0x100000000);
    this.view.setInt32(this.at, 8);
    this.view.setInt32(this.at + 4, high);
    this.view.setUint32(this.at + 8, v - high * 0x100000000);
    this.at += 12;
  }

  nul(): void {
    this.view.setInt32(this.at, -1);
    this.at += 4;
  }

  /**
   * A row of values, one per column of `types` (`first`, when given, before
   * the row's own), each checked against its column; the caller made room
   * ({@link rowBound}).
   */
  row(types: readonly CopyType[], row: readonly SqlValue[], first?: SqlValue): void {
    const lead = first === undefined ? 0 : 1;
    if (row.length + lead !== types.length) throw new RangeError(`a row has ${row.length + lead} values for ${types.length} columns`);
    this.fields(types.length);
    if (lead) this.at = field(this.out, this.view, this.at, types[0]!, first);
    for (let c = lead; c < types.length; c++) this.at = field(this.out, this.view, this.at, types[c]!, row[c - lead]);
  }
}

/** Bytes enough for a stream of these rows, header and trailer included. */
function upperBound(types: readonly CopyType[], rows: readonly (readonly SqlValue[])[], first: SqlValue | undefined): number {
  let n = HEADER + 2;
  for (const row of rows) n += rowBound(types, row, first);
  return n;
}

/** Bytes enough for one row ({@link CopyWriter.row}): text counted at 3 bytes a UTF-16 unit, the most UTF-8 needs. */
export function rowBound(types: readonly CopyType[], row: readonly SqlValue[], first?: SqlValue): number {
  let n = 2 + (typeof first === "string" ? first.length * 3 : 0);
  for (const t of types) n += 4 + FIXED[t];
  for (let c = 0; c < row.length; c++) {
    const v = row[c];
    if (typeof v === "string") n += v.length * 3;
    else if (v instanceof Uint8Array) n += v.byteLength;
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
  const range = RANGE[type]!;
  if (typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1]) {
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
