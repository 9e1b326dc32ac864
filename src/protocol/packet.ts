/**
 * A binary packet read in place: the decoder records where its payload lies
 * and checks it has enough separators; the string arguments and the data
 * view are made only when asked for. The hot handlers ask for neither: they
 * read the handle's digits and copy the workload straight from the bytes
 * (docs/architecture.md §3a), so a WORK_COMPLETE allocates one object.
 *
 * @module
 */
import { argumentCount, type CommandSpec } from "./commands.ts";
import { latin1, NAME_FIRST, nameAt } from "./latin1_args.ts";

const EMPTY = new Uint8Array(0);
const NO_ARGS: string[] = Object.freeze([]) as unknown as string[];

export class Packet {
  code!: number;
  spec!: CommandSpec;
  /**
   * True when `body` belongs to this packet alone (the packet spanned reads,
   * or was detached); false when it is the read's chunk and what is kept
   * past the read must be copied.
   */
  owned!: boolean;
  /** The bytes holding the payload, at `[start, end)`. */
  body!: Uint8Array;
  start!: number;
  end!: number;
  /** Where the opaque data starts (`end` when it is empty; -1 when the packet has none). */
  dataAt!: number;
  #args: string[] | undefined = undefined;
  #data: Uint8Array | undefined = undefined;

  constructor(spec: CommandSpec, body: Uint8Array, start: number, end: number, dataAt: number, owned: boolean) {
    this.reuse(spec, body, start, end, dataAt, owned);
  }

  /** Makes this object another packet (the decoder reuses packets the server is done with: {@link Decoder.recycle}). */
  reuse(spec: CommandSpec, body: Uint8Array, start: number, end: number, dataAt: number, owned: boolean): this {
    this.code = spec.code;
    this.spec = spec;
    this.owned = owned;
    this.body = body;
    this.start = start;
    this.end = end;
    this.dataAt = dataAt;
    this.#args = undefined;
    this.#data = undefined;
    return this;
  }

  get kind(): "packet" {
    return "packet";
  }

  /** Payload size in bytes, as declared in the header. */
  get size(): number {
    return this.end - this.start;
  }

  /** The NUL-separated string arguments (latin1: byte-transparent); made on first use. */
  get args(): string[] {
    return this.#args ??= splitStrings(this);
  }

  /** The opaque last argument, when the packet type has one: a view of `body`, made on first use. */
  get data(): Uint8Array | undefined {
    if (this.dataAt < 0) return undefined;
    return this.#data ??= this.dataAt === this.end ? EMPTY : this.body.subarray(this.dataAt, this.end);
  }

  /**
   * The string argument `i` alone, without the array of all of them (a
   * submission asks for its name and unique only); from `args` once made.
   */
  arg(i: number): string {
    if (this.#args !== undefined) return this.#args[i] ?? "";
    let at = this.start;
    for (let k = 0; k < i; k++) at = argEnd(this, at, k) + 1;
    return at > this.end ? "" : argString(this, i, at, argEnd(this, at, i));
  }

  /** The end of the first argument (a handle, a name) in `body`. */
  get firstEnd(): number {
    return argEnd(this, this.start, 0);
  }

  /** Drops the bytes and what was made of them (the packet waits to be reused). */
  empty(): this {
    return this.reuse(this.spec, EMPTY, 0, 0, -1, true);
  }

  /** A copy of the data in a buffer of its own (no view of the read is made). */
  copyData(): Uint8Array {
    return this.dataAt < 0 || this.dataAt === this.end ? new Uint8Array(0) : this.body.slice(this.dataAt, this.end);
  }

  /** Copies the payload out of the read's chunk, so the packet may outlive the read. */
  detach(): void {
    if (this.owned) return;
    const shift = this.start;
    this.body = this.body.slice(this.start, this.end);
    this.start = 0;
    this.end -= shift;
    if (this.dataAt >= 0) this.dataAt -= shift;
    this.#data = undefined;
    this.owned = true;
  }

  /** A packet built from its parts (a submission from outside the protocol: schedules, the HTTP edge). */
  static of(spec: CommandSpec, args: string[], data: Uint8Array | undefined): Packet {
    const p = new Packet(spec, data ?? EMPTY, 0, data?.length ?? 0, data === undefined ? -1 : 0, true);
    p.#args = args;
    p.#data = data;
    return p;
  }

  /** The shared argument-less packet of a code: frozen, nothing to allocate per read. */
  static bare(spec: CommandSpec): Packet {
    const p = new Packet(spec, EMPTY, 0, 0, spec.tail === undefined ? -1 : 0, true);
    p.#args = NO_ARGS;
    Object.freeze(p);
    return p;
  }
}

/**
 * Where a payload (`body[start, end)`) of this command's packet has its
 * opaque data, after the first N-1 NULs (`end` for none; -1 when the packet
 * type has no data); `undefined` when there are too few separators.
 */
export function dataStart(spec: CommandSpec, body: Uint8Array, start: number, end: number): number | undefined {
  const n = argumentCount(spec);
  if (n === 0) return -1;
  let at = start;
  for (let i = 0; i < n - 1; i++) {
    const nul = body.indexOf(0, at);
    if (nul === -1 || nul >= end) {
      // Perl's Gearman::Worker leaves out the separator before an empty
      // result ("" or "0" results, empty WORK_DATA): read it as empty data.
      return spec.tail !== undefined && i === n - 2 ? end : undefined;
    }
    at = nul + 1;
  }
  return spec.tail === undefined ? -1 : at;
}

/** Splits the string arguments (all but the opaque data) out of a checked packet. */
function splitStrings(p: Packet): string[] {
  const strings = argumentCount(p.spec) - (p.spec.tail === undefined ? 0 : 1);
  const args: string[] = [];
  let at = p.start;
  for (let i = 0; i < strings; i++) {
    const to = argEnd(p, at, i);
    args.push(argString(p, i, at, to));
    at = to + 1;
  }
  return args;
}

/** Where string argument `i`, starting at `at`, ends: at its NUL, or the payload's end (the last one of a packet without data). */
function argEnd(p: Packet, at: number, i: number): number {
  if (at > p.end) return p.end;
  if (p.spec.tail === undefined && i === argumentCount(p.spec) - 1) return p.end;
  const nul = p.body.indexOf(0, at);
  return nul === -1 || nul >= p.end ? p.end : nul;
}

function argString(p: Packet, i: number, at: number, to: number): string {
  return i === 0 && NAME_FIRST[p.code] ? nameAt(p.body, at, to) : latin1(p.body, at, to);
}
