/**
 * A connection's output that is ready to write. Packets are copied (or
 * encoded in place) into one byte buffer, written with one call per flush
 * and then handed back to a pool shared by all connections, so a steady
 * stream of replies allocates nothing per packet and a connection with
 * nothing to send holds no buffer. Large chunks (workloads of many KiB) are
 * kept by reference instead of copied, in front of the buffered bytes.
 *
 * @module
 */

/** A packet at most this large is copied into the buffer; a larger one is kept by reference while the buffer is empty. */
export const COPY_LIMIT = 4 * 1024;
/** A fresh buffer's size; it doubles when a flush's output needs more. */
const BUFFER_SIZE = 4 * 1024;
/** A buffer grown past this is dropped after its write rather than pooled (one large burst must not pin memory). */
const POOL_BUFFER_LIMIT = 64 * 1024;
/** Idle buffers kept for reuse, across all connections. */
const POOL_LIMIT = 64;
const EMPTY = new Uint8Array(0);
const pool: Uint8Array[] = [];

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
    if (buffer.length > 0 && buffer.length <= POOL_BUFFER_LIMIT && pool.length < POOL_LIMIT) pool.push(buffer);
  }

  /** Drops everything (the connection is gone); the buffer goes back to the pool. */
  clear(): void {
    this.writeTo(0, ignore);
  }

  #grow(need: number): void {
    const old = this.buffer;
    let next: Uint8Array | undefined;
    if (old.length === 0) next = pool.pop();
    if (next !== undefined && next.length < need) {
      pool.push(next);
      next = undefined;
    }
    if (next === undefined) {
      let size = Math.max(old.length * 2, BUFFER_SIZE);
      while (size < need) size *= 2;
      next = new Uint8Array(size);
    }
    if (this.length > 0) next.set(old.subarray(0, this.length));
    this.buffer = next;
    if (old.length > 0 && old.length <= POOL_BUFFER_LIMIT && pool.length < POOL_LIMIT) pool.push(old);
  }
}

function ignore(): void {}
