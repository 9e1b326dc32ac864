/**
 * A connection's output that is ready to write. Packets are copied (or
 * encoded in place) into one byte buffer, written with one call per flush
 * and then handed back to a pool shared by all connections, so a steady
 * stream of replies allocates nothing per packet and a connection with
 * nothing to send holds no buffer. Workloads up to {@link COPY_LIMIT} go
 * through the buffer too: a 64 KiB JOB_ASSIGN copied into a pooled buffer
 * cost less CPU than one allocated per packet (fewer, larger collections
 * left more large buffers to the allocator to map and unmap). Larger chunks
 * are kept by reference, in front of the buffered bytes.
 *
 * @module
 */

/** A packet at most this large is copied into the buffer; a larger one is kept by reference while the buffer is empty. */
export const COPY_LIMIT = 256 * 1024;
/** A fresh buffer's size; it doubles when a flush's output needs more. */
const BUFFER_SIZE = 4 * 1024;
/** A buffer grown past this is dropped after its write rather than pooled (one large burst must not pin memory). */
const POOL_BUFFER_LIMIT = 512 * 1024;
/** Idle buffers kept for reuse across all connections, and their bytes at most. */
const POOL_LIMIT = 64;
const POOL_BYTES = 4 * 1024 * 1024;
const EMPTY = new Uint8Array(0);
const pool: Uint8Array[] = [];
let pooledBytes = 0;

/** Keeps a written buffer for reuse, within the pool's limits. */
function giveBack(buffer: Uint8Array): void {
  const n = buffer.length;
  if (n === 0 || n > POOL_BUFFER_LIMIT || pool.length >= POOL_LIMIT || pooledBytes + n > POOL_BYTES) return;
  pool.push(buffer);
  pooledBytes += n;
}

/** A pooled buffer of at least `need` bytes (the most recent such), if any. */
function takeFromPool(need: number): Uint8Array | undefined {
  for (let i = pool.length - 1; i >= 0; i--) {
    const b = pool[i]!;
    if (b.length < need) continue;
    pool[i] = pool[pool.length - 1]!;
    pool.pop();
    pooledBytes -= b.length;
    return b;
  }
  return undefined;
}

/** Where the flush hands one connection's output: `chunks` first, then `buffer[0, length)`, which is only lent for the call. */
export type WriteOutput = (conn: number, chunks: Uint8Array[], buffer: Uint8Array, length: number) => void;

export class ReadyOutput {
  /** Large chunks, kept by reference; all of them come before the buffered bytes. */
  chunks: Uint8Array[] = [];
  /** Packets copied or encoded in place, `buffer[0, length)`. */
  buffer: Uint8Array = EMPTY;
  length = 0;
  /** All ready bytes: chunks and buffered. */
  bytes = 0;

  /** Adds encoded bytes in order: copied, unless large and nothing is buffered yet. */
  add(bytes: Uint8Array): void {
    if (this.length === 0 && bytes.length > COPY_LIMIT) {
      this.chunks.push(bytes);
      this.bytes += bytes.length;
      return;
    }
    const at = this.reserve(bytes.length); // first: it may replace the buffer
    this.buffer.set(bytes, at);
  }

  /** Makes room for `n` bytes at the end of the buffer and returns where they go: the caller writes them there now. */
  reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.buffer.length) this.#grow(need);
    this.length = need;
    this.bytes += n;
    return at;
  }

  /** Hands everything to `write` and empties this first, so output made during the write is kept for the next flush. */
  writeTo(conn: number, write: WriteOutput): void {
    const { chunks, buffer, length } = this;
    if (chunks.length > 0) this.chunks = [];
    this.buffer = EMPTY;
    this.length = 0;
    this.bytes = 0;
    if (chunks.length > 0 || length > 0) write(conn, chunks, buffer, length);
    giveBack(buffer);
  }

  /** Drops everything (the connection is gone); the buffer goes back to the pool. */
  clear(): void {
    this.writeTo(0, ignore);
  }

  #grow(need: number): void {
    const old = this.buffer;
    let next = takeFromPool(need);
    if (next === undefined) {
      let size = Math.max(old.length * 2, BUFFER_SIZE);
      while (size < need) size *= 2;
      next = new Uint8Array(size);
    }
    if (this.length > 0) next.set(old.subarray(0, this.length));
    this.buffer = next;
    giveBack(old);
  }
}

function ignore(): void {}
