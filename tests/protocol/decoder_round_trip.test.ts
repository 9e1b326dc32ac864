import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { argumentCount, COMMANDS, type CommandSpec, MAX_COMMAND } from "../../src/protocol/commands.ts";
import { Decoder, type Frame } from "../../src/protocol/decoder.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";
import { mulberry32 as prng } from "../helpers/prng.ts";

const bytes = (s: string) => Buffer.from(s, "latin1");
const req = (code: number, args: string[], data?: string) => encodePacket(code, args, data === undefined ? undefined : bytes(data), "REQ");

/** Frames in a comparable form. Taken right after each push: packet data may view the chunk. */
function shape(frames: Frame[]): unknown[] {
  return frames.map((f) =>
    f.kind === "packet"
      ? { code: f.code, args: f.args, data: f.data === undefined ? null : Buffer.from(f.data).toString("latin1"), size: f.size }
      : f.kind === "text"
      ? { line: f.line }
      : { fault: f.error.code, fatal: f.error.fatal }
  );
}

/** Feeds the pieces in order to one decoder and returns every frame. */
function feed(pieces: Uint8Array[], decoder = new Decoder()): unknown[] {
  const out: unknown[] = [];
  for (const p of pieces) out.push(...shape(decoder.push(p)));
  return out;
}

function allSpecs(): CommandSpec[] {
  return COMMANDS.filter((s): s is CommandSpec => s !== undefined);
}

/** Sample arguments for a packet type: NUL-free fields, opaque data with NULs. */
function sample(spec: CommandSpec): { fields: string[]; data: string | undefined } {
  const fields = spec.fields.map((name, i) => `${name}-${spec.code}-${i}`);
  return { fields, data: spec.tail === undefined ? undefined : `\0tail\0${spec.code}\0\xff` };
}

describe("decoder: every packet type round-trips", () => {
  test("the command table has the 41 protocol types (1..42 without 5) and gearbox's extension (100..105)", () => {
    const codes = allSpecs().map((s) => s.code);
    const gearman = Array.from({ length: 42 }, (_, i) => i + 1).filter((c) => c !== 5);
    assert.deepEqual(codes, [...gearman, 100, 101, 102, 103, 104, 105]);
    assert.equal(MAX_COMMAND, 105);
  });

  for (const spec of allSpecs()) {
    test(`${spec.name} (${spec.code}) decodes to the arguments it was encoded from`, () => {
      const { fields, data } = sample(spec);
      const magics: ("REQ" | "RES")[] = spec.direction === "request" ? ["REQ"] : spec.direction === "response" ? ["RES"] : ["REQ", "RES"];
      for (const magic of magics) {
        const wire = encodePacket(spec.code, fields, data === undefined ? undefined : bytes(data), magic);
        const frames = new Decoder({ expect: magic }).push(wire);
        assert.equal(frames.length, 1, `${magic}: one frame`);
        const f = frames[0]!;
        assert.equal(f.kind, "packet", `${magic}: ${f.kind === "fault" ? f.error.code : f.kind}`);
        if (f.kind !== "packet") return;
        assert.equal(f.code, spec.code);
        assert.equal(f.spec, spec);
        assert.deepEqual(f.args, fields);
        assert.equal(f.data === undefined ? undefined : Buffer.from(f.data).toString("latin1"), data);
        assert.equal(f.size, wire.length - 12);
        assert.equal(f.args.length + (f.data === undefined ? 0 : 1), argumentCount(spec));
      }
    });
  }

  test("a last field without a tail keeps its NULs (CAN_DO f28\\0extra is one name)", () => {
    const [f] = new Decoder().push(req(1, ["f28\0extra"]));
    assert.ok(f?.kind === "packet");
    assert.deepEqual(f.args, ["f28\0extra"]);
    const [s] = new Decoder().push(req(12, ["H:x:1", "3", "10\0junk"]));
    assert.ok(s?.kind === "packet");
    assert.deepEqual(s.args, ["H:x:1", "3", "10\0junk"]);
  });

  test("empty opaque data and empty fields survive", () => {
    const [f] = new Decoder().push(req(7, ["f", ""], ""));
    assert.ok(f?.kind === "packet");
    assert.deepEqual([f.args, f.data?.length, f.size], [["f", ""], 0, 3]);
    const [e] = new Decoder().push(req(16, [], ""));
    assert.ok(e?.kind === "packet");
    assert.deepEqual([e.args, e.data?.length, e.size], [[], 0, 0]);
  });

  test("a frame decoded from a single chunk stays intact after the chunk is overwritten", () => {
    const d = new Decoder();
    const wire = req(16, [], "echo me");
    const [f] = d.push(wire);
    assert.ok(f?.kind === "packet");
    const kept = f.owned ? f.data! : Uint8Array.from(f.data!);
    wire.fill(0x41);
    assert.equal(Buffer.from(kept).toString("latin1"), "echo me");
  });
});

/** Packets and admin lines mixed: CRLF and bare LF, NUL-laden data, a stray zero-arg payload. */
const STREAM = Buffer.concat([
  req(7, ["reverse", "u-1"], "pay\0lo\0\0ad\xff"),
  bytes("status\r\n"),
  req(16, [], ""),
  bytes("show unique jobs\n"),
  req(9, []),
  bytes("\r\n"),
  bytes("\n"),
  req(1, ["fn"]),
  encodePacket(9, [], bytes("xyz"), "REQ"), // GRAB_JOB with a stray payload
  req(13, ["H:t:1"], "\0\0result\0"),
  bytes("version\n"),
  req(38, ["f", "u", "red", "agg"], "\0data"),
  bytes("workers\r\n"),
]);

const EXPECTED = [
  { code: 7, args: ["reverse", "u-1"], data: "pay\0lo\0\0ad\xff", size: 23 },
  { line: "status" },
  { code: 16, args: [], data: "", size: 0 },
  { line: "show unique jobs" },
  { code: 9, args: [], data: null, size: 0 },
  { line: "" },
  { line: "" },
  { code: 1, args: ["fn"], data: null, size: 2 },
  { code: 9, args: [], data: null, size: 3 },
  { code: 13, args: ["H:t:1"], data: "\0\0result\0", size: 15 },
  { line: "version" },
  { code: 38, args: ["f", "u", "red", "agg"], data: "\0data", size: 17 },
  { line: "workers" },
];

/** The same with faults the stream survives: \0RES magic, unknown type 99, too few NULs. */
const FAULTY = Buffer.concat([
  req(16, [], "a"),
  encodePacket(16, [], bytes("res magic"), "RES"),
  req(99, ["\0REQ\0\0\0\x10\0\0\0\0"]), // a body that looks like a header
  bytes("status\n"),
  req(18, ["justdata"]),
  req(16, [], "b"),
]);

const FAULTY_EXPECTED = [
  { code: 16, args: [], data: "a", size: 1 },
  { fault: "RESPONSE_MAGIC", fatal: false },
  { fault: "UNKNOWN_COMMAND", fatal: false },
  { line: "status" },
  { fault: "INVALID_PACKET", fatal: false },
  { code: 16, args: [], data: "b", size: 1 },
];

describe("decoder: input split anywhere gives the same frames", () => {
  for (const [name, stream, expected] of [["mixed stream", STREAM, EXPECTED], ["stream with faults", FAULTY, FAULTY_EXPECTED]] as const) {
    test(`the ${name} decodes whole to the expected frames`, () => {
      const d = new Decoder();
      assert.deepEqual(feed([stream], d), expected);
      assert.equal(d.pendingBytes, 0);
    });

    test(`the ${name} gives the same frames split in two at every point`, () => {
      for (let cut = 0; cut <= stream.length; cut++) {
        const d = new Decoder();
        assert.deepEqual(feed([stream.subarray(0, cut), stream.subarray(cut)], d), expected, `split at ${cut}`);
        assert.equal(d.pendingBytes, 0, `pending after split at ${cut}`);
      }
    });

    test(`the ${name} gives the same frames fed one byte at a time`, () => {
      const pieces = Array.from(stream, (b) => Uint8Array.of(b));
      assert.deepEqual(feed(pieces), expected);
    });

    test(`the ${name} gives the same frames under seeded random multi-way splits`, () => {
      const rand = prng(0xC0FFEE);
      for (let round = 0; round < 300; round++) {
        const cuts = new Set<number>();
        const n = 1 + Math.floor(rand() * 12);
        while (cuts.size < n) cuts.add(Math.floor(rand() * (stream.length + 1)));
        const points = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
        // Copies, so a piece the decoder keeps a view of is not shared with the next round.
        const pieces = points.slice(1).map((end, i) => Uint8Array.from(stream.subarray(points[i]!, end)));
        assert.deepEqual(feed(pieces), expected, `round ${round}: cuts ${points.join(",")}`);
      }
    });
  }

  test("an empty push produces nothing and changes nothing", () => {
    const d = new Decoder();
    assert.deepEqual(d.push(new Uint8Array(0)), []);
    d.push(STREAM.subarray(0, 5));
    assert.deepEqual(d.push(new Uint8Array(0)), []);
    assert.equal(d.pendingBytes, 5);
    assert.deepEqual(feed([STREAM.subarray(5)], d), EXPECTED);
  });

  test("a Buffer chunk decodes like a plain Uint8Array chunk", () => {
    assert.deepEqual(feed([Buffer.from(STREAM)]), feed([Uint8Array.from(STREAM)]));
  });
});

describe("decoder: function names", () => {
  test("each packet's function name is its own, however the names before it compare: equal, same length, shorter, high bytes, empty", () => {
    const d = new Decoder();
    const names = ["resize", "resize", "resizf", "rezise", "resize", "r", "", "r\xe9size", "r\xe9sizf", "resize", "resize"];
    const sent = names.flatMap((n, i) => [req(18, [n, `u${i}`], "x"), req(1, [n])]);
    const got = shape(d.push(Buffer.concat(sent))) as { args: string[] }[];
    assert.deepEqual(got.map((f) => f.args[0]), names.flatMap((n) => [n, n]));
    assert.deepEqual(got.filter((_, i) => i % 2 === 0).map((f) => f.args[1]), names.map((_, i) => `u${i}`));
  });
});

describe("decoder: one argument read alone equals the same argument of the whole list", () => {
  test("for every packet type, with sample, empty and missing trailing arguments, arg(i) before args gives args[i]", () => {
    const payloads = (spec: CommandSpec): string[] => {
      const { fields, data } = sample(spec);
      const whole = [...fields, ...(data === undefined ? [] : [data])].join("\0");
      const empty = fields.map(() => "").join("\0") + (data === undefined ? "" : "\0");
      // Perl's worker leaves out the separator before empty data: one NUL short.
      const short = spec.tail !== undefined && fields.length > 0 ? fields.join("\0") : whole;
      return [whole, empty, short, whole + "\0extra\0"];
    };
    let checked = 0;
    for (const spec of allSpecs()) {
      for (const payload of payloads(spec)) {
        const body = bytes(payload);
        const head = Buffer.alloc(12);
        head.write("\0REQ", 0, "latin1");
        head.writeUInt32BE(spec.code, 4);
        head.writeUInt32BE(body.length, 8);
        const wire = Buffer.concat([head, body]);
        const alone = new Decoder().push(wire)[0]!;
        const listed = new Decoder().push(wire)[0]!;
        if (alone.kind !== "packet" || listed.kind !== "packet") continue; // refused alike (too few separators)
        const strings = argumentCount(spec) - (spec.tail === undefined ? 0 : 1);
        const one = Array.from({ length: strings }, (_, i) => alone.arg(i));
        assert.deepEqual(one, listed.args, `${spec.name} ${JSON.stringify(payload)}`);
        checked++;
      }
    }
    assert.ok(checked > 100, `${checked} packets checked`);
  });
});
