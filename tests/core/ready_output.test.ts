import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { COPY_LIMIT, ReadyOutput } from "../../src/core/ready_output.ts";

const bytes = (s: string) => Buffer.from(s, "latin1");

interface Write {
  chunks: number;
  text: string;
  buffer: Uint8Array;
}

/** Flushes `out`; returns each write call's chunk count, all its bytes as text, and the lent buffer. */
function flush(out: ReadyOutput): Write[] {
  const writes: Write[] = [];
  out.writeTo(7, (conn, chunks, buffer, length) => {
    assert.equal(conn, 7);
    writes.push({ chunks: chunks.length, text: Buffer.concat([...chunks, buffer.subarray(0, length)]).toString("latin1"), buffer });
  });
  return writes;
}

describe("ready output: small packets go out of one reused buffer", () => {
  test("small packets are copied into one buffer in order, and the flush leaves nothing behind", () => {
    const out = new ReadyOutput();
    out.add(bytes("one "));
    out.add(bytes("two "));
    const at = out.reserve(5);
    out.buffer.set(bytes("three"), at);
    assert.equal(out.bytes, 13);
    const [w, ...more] = flush(out);
    assert.deepEqual(more, []);
    assert.equal(w!.chunks, 0);
    assert.equal(w!.text, "one two three");
    assert.equal(out.bytes, 0);
    assert.deepEqual(flush(out), [], "nothing is written twice");
  });

  test("a large packet is kept by reference in front of an empty buffer, and copied behind buffered bytes", () => {
    const big = (c: string) => bytes(c.repeat(COPY_LIMIT + 1));
    const out = new ReadyOutput();
    out.add(big("a"));
    out.add(bytes("small"));
    out.add(big("b"));
    const [w] = flush(out);
    assert.equal(w!.chunks, 1, "only the first large packet is a chunk of its own");
    assert.equal(w!.text, "a".repeat(COPY_LIMIT + 1) + "small" + "b".repeat(COPY_LIMIT + 1));
  });

  test("the buffer is only lent: the next flush reuses it, and output made during a write waits for the next flush", () => {
    const out = new ReadyOutput();
    out.add(bytes("first"));
    let lent: Uint8Array | undefined;
    out.writeTo(7, (_conn, _chunks, buffer) => {
      lent = buffer;
      out.add(bytes("during")); // a drop's output, say
    });
    const [w] = flush(out);
    assert.equal(w!.text, "during");
    out.add(bytes("third"));
    const [again] = flush(out);
    assert.equal(again!.text, "third");
    assert.ok(again!.buffer === lent || again!.buffer === w!.buffer, "a written buffer comes back from the pool");
  });

  test("a flush larger than a fresh buffer grows it and keeps every byte in order", () => {
    const out = new ReadyOutput();
    let expected = "";
    for (let i = 0; i < 3000; i++) {
      const piece = `${i},`;
      out.add(bytes(piece));
      expected += piece;
    }
    assert.equal(flush(out)[0]!.text, expected);
  });
});
