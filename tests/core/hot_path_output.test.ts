import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CoreSession } from "../helpers/core_session.ts";
import { Decoder, type Frame } from "../../src/protocol/decoder.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";
import { Cmd } from "../../src/protocol/commands.ts";

const C = 1, C2 = 2, W = 11;
const latin1 = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString("latin1");
/** What one flush call writes for a connection: its chunks, then the lent buffer's bytes. */
const written = (chunks: Uint8Array[], buffer: Uint8Array, length: number) => latin1([...chunks, buffer.subarray(0, length)]);

describe("hot path: handles read in place and output handed over without copies", () => {
  test("a handle names its job only in canonical form: no sign, leading zero, fraction or other prefix", () => {
    const s = new CoreSession().open(C, W);
    s.send(C, "SUBMIT_JOB", "f", "u", "x");
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1"]);
    for (const other of ["H:t:01", "H:t:+1", "H:t:1.0", "H:t: 1", "H:u:1", "t:1", "H:t:", "H:t:1x", "H:t:12345678901234567"]) {
      s.send(C, "GET_STATUS", other);
      assert.deepEqual(s.take(C), [`STATUS_RES ${other}\x000\x000\x000\x000`], other);
    }
    s.send(C, "GET_STATUS", "H:t:1");
    assert.deepEqual(s.take(C), ["STATUS_RES H:t:1\x001\x000\x000\x000"]);
  });

  test("a worker's result names its job in place only by the canonical handle; any other form is refused and the job runs on", () => {
    const s = new CoreSession().open(C, W);
    s.send(W, "CAN_DO", "f");
    s.send(C, "SUBMIT_JOB", "f", "u", "x");
    s.send(W, "GRAB_JOB");
    assert.deepEqual(s.take(W), ["JOB_ASSIGN H:t:1\0f\0x"]);
    s.take(C);
    for (
      const other of [
        "H:t:01",
        "H:t:+1",
        "H:t:1.0",
        "H:t: 1",
        "H:u:1",
        "t:1",
        "H:t:",
        "H:t:1x",
        "H:tt:1",
        "HH:t:1",
        "H:t:11",
        "H:t:x:1",
        ":1",
        "1",
      ]
    ) {
      s.send(W, "WORK_COMPLETE", other, "no");
      assert.deepEqual(s.take(W), ["ERROR JOB_NOT_FOUND\0Job given in work result not found"], other);
      assert.deepEqual(s.take(C), [], other);
    }
    s.send(W, "WORK_DATA", "H:t:1", "part");
    s.send(W, "WORK_COMPLETE", "H:t:1", "done");
    assert.deepEqual(s.take(C), ["WORK_DATA H:t:1\0part", "WORK_COMPLETE H:t:1\0done"]);
  });

  test("a detached packet keeps its arguments and data when the read it came from is overwritten", () => {
    const bytes = new Uint8Array(encodePacket(Cmd.SUBMIT_JOB, ["fn", "uniq"], Buffer.from("work"), "REQ"));
    const p = new Decoder().push(bytes)[0]!;
    assert.ok(p.kind === "packet" && !p.owned);
    p.detach();
    bytes.fill(0x7a);
    assert.deepEqual(p.args, ["fn", "uniq"]);
    assert.equal(Buffer.from(p.data!).toString(), "work");
    assert.equal(p.owned, true);
  });

  test("a packet the server is done with becomes the next one, and what was taken from it stays as it was", () => {
    const d = new Decoder();
    const submit = (fn: string, unique: string, data: string) =>
      d.push(encodePacket(Cmd.SUBMIT_JOB, [fn, unique], Buffer.from(data), "REQ"))[0]!;
    const a = submit("f", "u1", "one");
    assert.ok(a.kind === "packet");
    const args = a.args;
    const data = a.data!;
    d.recycle(a);
    assert.equal(a.body.byteLength, 0, "a packet waiting to be reused holds no bytes");
    const b = submit("g", "u2", "two");
    assert.equal(b, a, "the same object");
    assert.ok(b.kind === "packet");
    assert.deepEqual([b.args, Buffer.from(b.data!).toString()], [["g", "u2"], "two"]);
    assert.deepEqual(
      [args, Buffer.from(data).toString()],
      [["f", "u1"], "one"],
      "the first packet's arguments and data view are untouched",
    );
    const grab = d.push(encodePacket(Cmd.GRAB_JOB, [], undefined, "REQ"))[0]!;
    d.recycle(grab);
    assert.notEqual(submit("h", "u3", "three"), grab, "a shared frozen frame is never reused");
  });

  test("output made for a connection while its own output is being written goes out later in the same flush, none lost", () => {
    const s = new CoreSession().open(C, C2);
    const core = s.core;
    const decoder = new Decoder();
    const frames: Frame[] = [];
    const echo = (text: string) => decoder.push(encodePacket(Cmd.ECHO_REQ, [], Buffer.from(text), "REQ"), frames.splice(0))[0]!;
    core.receive(C, echo("one"), 0);
    core.receive(C2, echo("other"), 0);
    const writes: string[] = [];
    core.flush((conn, chunks, buffer, length) => {
      writes.push(`${conn}:${written(chunks, buffer, length)}`);
      // The edge's write can make more output (a drop closes a connection, say): here, once, for the same connection.
      if (writes.length === 1) core.receive(C, echo("two"), 0);
    });
    assert.equal(writes.length, 3, "one, other, and two in the same flush's later turn");
    assert.ok(writes[0]!.startsWith("1:") && writes[0]!.endsWith("one"));
    assert.ok(writes[1]!.startsWith("2:") && writes[1]!.endsWith("other"));
    assert.ok(writes[2]!.startsWith("1:") && writes[2]!.endsWith("two"));
    assert.deepEqual(core.flush(() => assert.fail("nothing is left")), []);
  });

  test("argument-less packets decode to one shared frozen frame; a stray payload still gets its own", () => {
    const d = new Decoder();
    const a = d.push(encodePacket(Cmd.GRAB_JOB_ALL, [], undefined, "REQ"))[0]!;
    const b = d.push(encodePacket(Cmd.GRAB_JOB_ALL, [], undefined, "REQ"))[0]!;
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
    const stray = d.push(Buffer.from("\0REQ\0\0\0\x27\0\0\0\x03abc", "latin1"))[0]!;
    assert.notEqual(stray, a);
    assert.equal(stray.kind === "packet" && stray.size, 3);
  });

  test("the JOB_CREATED replies of one commit and the output behind them go to each connection as one write, in order", () => {
    const s = new CoreSession().open(C, C2);
    s.autoAck = false;
    const core = s.core;
    const decoder = new Decoder();
    const frames: Frame[] = [];
    const packet = (code: number, ...args: string[]) =>
      decoder.push(encodePacket(code, args.slice(0, -1), Buffer.from(args.at(-1)!), "REQ"), frames.splice(0))[0]!;
    for (let i = 1; i <= 3; i++) core.receive(C, packet(Cmd.SUBMIT_JOB_BG, "f", `u${i}`, "x"), 0);
    core.receive(C, packet(Cmd.ECHO_REQ, "after"), 0);
    core.receive(C2, packet(Cmd.SUBMIT_JOB_BG, "f", "v", "x"), 0);
    const ids: number[] = [];
    for (const e of core.flush(() => assert.fail("nothing is written before the commit"))) if (e.kind === "persist") ids.push(e.job.id);
    assert.deepEqual(ids, [1, 2, 3, 4]);
    core.persisted(ids, undefined, 0);
    const writes = new Map<number, string>();
    core.flush((conn, chunks, buffer, length) => {
      assert.equal(writes.has(conn), false, "one write per connection");
      assert.deepEqual(chunks, [], "small packets are all in the lent buffer");
      writes.set(conn, written(chunks, buffer, length));
    });
    const acks = ["H:t:1", "H:t:2", "H:t:3"].map((h) => latin1([encodePacket(Cmd.JOB_CREATED, [h])])).join("");
    assert.equal(writes.get(C), acks + latin1([encodePacket(Cmd.ECHO_RES, [], Buffer.from("after"))]));
    assert.equal(writes.get(C2), latin1([encodePacket(Cmd.JOB_CREATED, ["H:t:4"])]));
  });

  test("a job the cluster coalesced or a refused commit answers in its place between the others' JOB_CREATED", () => {
    const s = new CoreSession().open(C);
    s.autoAck = false;
    for (let i = 1; i <= 3; i++) s.send(C, "SUBMIT_JOB_BG", "f", `u${i}`, "x");
    s.core.persisted([1, 2, 3], undefined, s.now, new Map([[2, "H:elsewhere:7"]]));
    s.pump();
    assert.deepEqual(s.take(C), ["JOB_CREATED H:t:1", "JOB_CREATED H:elsewhere:7", "JOB_CREATED H:t:3"]);
    s.send(C, "SUBMIT_JOB_BG", "f", "u4", "x");
    s.send(C, "SUBMIT_JOB_BG", "f", "u4", "x"); // the same connection twice on one job: two answers
    s.send(C, "SUBMIT_JOB_BG", "f", "u5", "x");
    s.ack("disk full", [4]);
    s.ack(undefined, [5]);
    assert.deepEqual(s.take(C), ["ERROR QUEUE_ERROR\0disk full", "ERROR QUEUE_ERROR\0disk full", "JOB_CREATED H:t:5"]);
  });
});
