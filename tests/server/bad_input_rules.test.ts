/**
 * docs/reliability.md §3: every one-shot bad input, each checked against all the
 * rules R1–R7 at once (goal F3: "each asserting R1–R7"). Each case runs on a
 * fresh in-process server from several attacking connections at the same
 * time (BAD_INPUT_CONCURRENCY, default 4; the soak tier asks for 100) while a
 * bystander connection keeps echoing:
 *
 * - R1 the server answers a fresh echo afterwards; the event loop never
 *   stalled more than 100 ms;
 * - R2 the bystander's echo p99 stayed under 50 ms and none was lost;
 * - R3 the store holds nothing new;
 * - R5 at most one log line per cause per connection, never the payload
 *   (every payload carries a canary the logs are searched for);
 * - R6 the exact reply arrives within 1 s, then the connection is kept
 *   (it still echoes) or closed, as the case requires;
 * - R7 the cause's counter moved by exactly one per bad input.
 *
 * The topic files (bad_input_framing/arguments/connections) hold the deeper
 * per-case scenarios; this file is the uniform R1–R7 sweep.
 *
 * R1 and R2 are timed as withProbe does (tests/helpers/probe.ts): run-queue
 * wait on a loaded machine is not a stall, and the timing claims get three
 * attempts on a fresh server, one of which must keep them.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { ServerOptions } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { assertUsable, expectError, header } from "../helpers/inproc.ts";
import { assertQuietLogs, withProbe } from "../helpers/probe.ts";
import { waitUntil } from "../helpers/wait.ts";

const K = Number(process.env.BAD_INPUT_CONCURRENCY ?? 4);
const CANARY = "CANARY7f3a9";
const MAX = 64 * 1024;

type Reply = { error: string; text: string } | { line: string };

interface Case {
  /** The test's name: a sentence carrying the case number. */
  name: string;
  options?: ServerOptions;
  /** What one attacking connection sends (all of it, then it waits for the reply). */
  bytes: () => Buffer;
  /** Exact reply (ERROR code and text, or an admin text line). */
  reply: Reply;
  kept: boolean;
  counter: string;
  /** Replies (and counter steps) per attacking connection; default 1. */
  times?: number;
}

const err = (error: string, text: string): Reply => ({ error, text });
const cat = (...parts: (Buffer | string)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)));
const withBody = (magic: string, code: number, body: string) => cat(header(magic, code, Buffer.byteLength(body, "latin1")), body);
const future = () => String(Math.floor(Date.now() / 1000) + 11 * 365 * 86400);

const CASES: Case[] = [
  {
    name: "b1: a wrong magic (`\\0XYZ`) gets ERROR INVALID_MAGIC and a close",
    bytes: () => withBody("\0XYZ", Cmd.ECHO_REQ, CANARY),
    reply: err("INVALID_MAGIC", "Bad magic in packet header"),
    kept: false,
    counter: "protocol_bad_magic",
  },
  {
    name: "b1: a lower-case request magic (`\\0req`) gets ERROR INVALID_MAGIC and a close",
    bytes: () => withBody("\0req", Cmd.SUBMIT_JOB_BG, `f\0\0${CANARY}`),
    reply: err("INVALID_MAGIC", "Bad magic in packet header"),
    kept: false,
    counter: "protocol_bad_magic",
  },
  {
    name: "b2: `\\0RES` magic from a client gets ERROR INVALID_MAGIC `Request magic expected` and is kept",
    bytes: () => withBody("\0RES", Cmd.ECHO_REQ, CANARY),
    reply: err("INVALID_MAGIC", "Request magic expected"),
    kept: true,
    counter: "protocol_response_magic",
  },
  {
    name: "b3: command 0 with binary magic gets ERROR INVALID_COMMAND and a close",
    bytes: () => withBody("\0REQ", 0, CANARY),
    reply: err("INVALID_COMMAND", "Command 0 is reserved"),
    kept: false,
    counter: "protocol_reserved_command",
  },
  {
    name: "b4: command 43 with a body gets ERROR INVALID_COMMAND `Command not expected`, the body is skipped and the connection kept",
    bytes: () => withBody("\0REQ", 43, `${CANARY}\0\0\0`),
    reply: err("INVALID_COMMAND", "Command not expected"),
    kept: true,
    counter: "protocol_unknown_command",
  },
  {
    name: "b4: command 0xFFFFFFFF with a 1 KiB body is skipped with ERROR INVALID_COMMAND and the connection kept",
    bytes: () => withBody("\0REQ", 0xffffffff, CANARY + "\0".repeat(1024)),
    reply: err("INVALID_COMMAND", "Command not expected"),
    kept: true,
    counter: "protocol_unknown_command",
  },
  {
    name: "b5: response-only JOB_ASSIGN_ALL sent as a request gets ERROR INVALID_COMMAND and is kept",
    bytes: () => packet(Cmd.JOB_ASSIGN_ALL, "H:x:1", "f", "u", "r", CANARY),
    reply: err("INVALID_COMMAND", "Command not expected"),
    kept: true,
    counter: "invalid_command",
  },
  {
    name: "b6: a size field of 0xFFFFFFFF gets ERROR ARGUMENT_TOO_LARGE from the header alone, then a close",
    options: { maxPacketSize: MAX },
    bytes: () => cat(header("\0REQ", Cmd.SUBMIT_JOB_BG, 0xffffffff), CANARY),
    reply: err("ARGUMENT_TOO_LARGE", "Packet larger than the server accepts"),
    kept: false,
    counter: "protocol_packet_too_large",
  },
  {
    name: "b7: a packet one byte over max_packet_size gets ERROR ARGUMENT_TOO_LARGE and a close",
    options: { maxPacketSize: MAX },
    bytes: () => packet(Cmd.ECHO_REQ, CANARY + "x".repeat(MAX + 1 - CANARY.length)),
    reply: err("ARGUMENT_TOO_LARGE", "Packet larger than the server accepts"),
    kept: false,
    counter: "protocol_packet_too_large",
  },
  {
    name: "b11: SUBMIT_JOB_BG without separators gets ERROR INVALID_PACKET once its declared body is in, and is kept",
    bytes: () => withBody("\0REQ", Cmd.SUBMIT_JOB_BG, CANARY),
    reply: err("INVALID_PACKET", "Packet has too few arguments for its type"),
    kept: true,
    counter: "protocol_invalid_packet",
  },
  {
    name: "b11: SUBMIT_REDUCE_JOB_BACKGROUND with one separator short gets ERROR INVALID_PACKET and is kept",
    bytes: () => withBody("\0REQ", Cmd.SUBMIT_REDUCE_JOB_BACKGROUND, `f\0u\0${CANARY}`),
    reply: err("INVALID_PACKET", "Packet has too few arguments for its type"),
    kept: true,
    counter: "protocol_invalid_packet",
  },
  {
    name: "b13: a zero-length SUBMIT_JOB gets ERROR INVALID_PACKET and is kept",
    bytes: () => header("\0REQ", Cmd.SUBMIT_JOB, 0),
    reply: err("INVALID_PACKET", "Packet has too few arguments for its type"),
    kept: true,
    counter: "protocol_invalid_packet",
  },
  {
    name: "b13: a zero-length SUBMIT_JOB_EPOCH gets ERROR INVALID_PACKET and is kept",
    bytes: () => header("\0REQ", Cmd.SUBMIT_JOB_EPOCH, 0),
    reply: err("INVALID_PACKET", "Packet has too few arguments for its type"),
    kept: true,
    counter: "protocol_invalid_packet",
  },
  {
    name: "b14: SUBMIT_JOB with an empty function name gets ERROR INVALID_FUNCTION_NAME and is kept",
    bytes: () => packet(Cmd.SUBMIT_JOB, "", "", CANARY),
    reply: err("INVALID_FUNCTION_NAME", "Function name must not be empty"),
    kept: true,
    counter: "invalid_function_name",
  },
  {
    name: "b15: SUBMIT_JOB_BG with a 9,000-byte function name gets ERROR ARGUMENT_TOO_LARGE and is kept",
    bytes: () => packet(Cmd.SUBMIT_JOB_BG, CANARY + "f".repeat(9000), "", "x"),
    reply: err("ARGUMENT_TOO_LARGE", "Function name too large"),
    kept: true,
    counter: "invalid_function_name",
  },
  {
    name: "b15: CAN_DO_TIMEOUT with a 1 MiB function name gets ERROR ARGUMENT_TOO_LARGE and is kept",
    bytes: () => packet(Cmd.CAN_DO_TIMEOUT, CANARY + "f".repeat(1024 * 1024), "10"),
    reply: err("ARGUMENT_TOO_LARGE", "Function name too large"),
    kept: true,
    counter: "invalid_function_name",
  },
  {
    name: "b16: a function name with a newline and a tab (a forged status row) gets ERROR INVALID_FUNCTION_NAME",
    bytes: () => packet(Cmd.SUBMIT_JOB_BG, `${CANARY}\t9\t9\t9\nfake`, "", "x"),
    reply: err("INVALID_FUNCTION_NAME", "Function name contains whitespace or control bytes"),
    kept: true,
    counter: "invalid_function_name",
  },
  {
    name: "b16: a function name with a carriage return gets ERROR INVALID_FUNCTION_NAME",
    bytes: () => packet(Cmd.CAN_DO, `${CANARY}\r`),
    reply: err("INVALID_FUNCTION_NAME", "Function name contains whitespace or control bytes"),
    kept: true,
    counter: "invalid_function_name",
  },
  {
    name: "b17: a 65-byte unique gets ERROR ARGUMENT_TOO_LARGE `Unique value too large` and is kept",
    bytes: () => packet(Cmd.SUBMIT_JOB_BG, "f17", CANARY + "u".repeat(65 - CANARY.length), "x"),
    reply: err("ARGUMENT_TOO_LARGE", "Unique value too large"),
    kept: true,
    counter: "unique_too_large",
  },
  {
    name: "b19: WORK_COMPLETE with a 100-byte handle gets ERROR ARGUMENT_TOO_LARGE and is kept",
    bytes: () => packet(Cmd.WORK_COMPLETE, "H:" + "x".repeat(94) + ":1", CANARY),
    reply: err("ARGUMENT_TOO_LARGE", "Job handle too large"),
    kept: true,
    counter: "result_for_unknown_job",
  },
  {
    name: "b20: WORK_EXCEPTION for an unknown handle gets ERROR JOB_NOT_FOUND (gearmand crashed here, #168)",
    bytes: () => packet(Cmd.WORK_EXCEPTION, "H:nope:1", CANARY),
    reply: err("JOB_NOT_FOUND", "An exception was received for a job that does not exist"),
    kept: true,
    counter: "result_for_unknown_job",
  },
  {
    name: "b20: WORK_DATA for an unknown handle gets ERROR JOB_NOT_FOUND `Job does not exist on server`",
    bytes: () => packet(Cmd.WORK_DATA, "H:nope:2", CANARY),
    reply: err("JOB_NOT_FOUND", "Job does not exist on server"),
    kept: true,
    counter: "result_for_unknown_job",
  },
  {
    name: "b20: WORK_STATUS for an unknown handle gets ERROR JOB_NOT_FOUND `Job given in work result not found`",
    bytes: () => packet(Cmd.WORK_STATUS, "H:nope:3", "1", "2"),
    reply: err("JOB_NOT_FOUND", "Job given in work result not found"),
    kept: true,
    counter: "result_for_unknown_job",
  },
  {
    name: "b24: SUBMIT_JOB_EPOCH with epoch `abc` gets ERROR INVALID_ARGUMENT and stores nothing",
    bytes: () => packet(Cmd.SUBMIT_JOB_EPOCH, "f24", "", "abc", CANARY),
    reply: err("INVALID_ARGUMENT", "Epoch must be a Unix time in seconds"),
    kept: true,
    counter: "invalid_epoch",
  },
  {
    name: "b24: SUBMIT_JOB_EPOCH eleven years ahead gets ERROR INVALID_ARGUMENT and stores nothing",
    bytes: () => packet(Cmd.SUBMIT_JOB_EPOCH, "f24", "", future(), CANARY),
    reply: err("INVALID_ARGUMENT", "Epoch too far in the future"),
    kept: true,
    counter: "invalid_epoch",
  },
  {
    name: "b25: SUBMIT_JOB_SCHED gets ERROR INVALID_COMMAND and stores nothing",
    bytes: () => packet(Cmd.SUBMIT_JOB_SCHED, "f25", "", "0", "0", "1", "1", "0", CANARY),
    reply: err("INVALID_COMMAND", "Command not expected"),
    kept: true,
    counter: "invalid_command",
  },
  {
    name: "b26: CAN_DO_TIMEOUT with `NaN` gets ERROR INVALID_ARGUMENT and registers nothing",
    bytes: () => packet(Cmd.CAN_DO_TIMEOUT, CANARY, "NaN"),
    reply: err("INVALID_ARGUMENT", "CAN_DO_TIMEOUT needs a timeout in milliseconds"),
    kept: true,
    counter: "invalid_timeout",
  },
  {
    name: "b27: a CAN_DO past max_functions_per_connection gets ERROR TOO_MANY_FUNCTIONS and is kept",
    options: { maxFunctionsPerConnection: 3 },
    bytes: () => cat(...["a", "b", "c", CANARY].map((f) => packet(Cmd.CAN_DO, f))),
    reply: err("TOO_MANY_FUNCTIONS", "Connection registered too many functions"),
    kept: true,
    counter: "too_many_abilities",
  },
  {
    name: "b28: OPTION_REQ with a 64 KiB option name gets ERROR UNKNOWN_OPTION and is kept",
    bytes: () => packet(Cmd.OPTION_REQ, CANARY + "o".repeat(65536)),
    reply: err("UNKNOWN_OPTION", "Server does not recognize given option"),
    kept: true,
    counter: "unknown_option",
  },
  {
    name: "b33: an admin line of binary bytes gets ERR UNKNOWN_COMMAND and the connection is kept",
    bytes: () => Buffer.from(`\x01\xfe${CANARY}\r\n`, "latin1"),
    reply: { line: `ERR UNKNOWN_COMMAND Unknown+server+command\x01\xfe${CANARY}\r\n` },
    kept: true,
    counter: "admin_commands",
  },
  {
    name: "b33: 1,000 pipelined garbage admin lines each get their ERR in order",
    bytes: () => Buffer.from(Array.from({ length: 1000 }, () => `${CANARY}\n`).join("")),
    reply: { line: `ERR UNKNOWN_COMMAND Unknown+server+command${CANARY}\r\n` },
    kept: true,
    counter: "admin_commands",
    times: 1000,
  },
  {
    name: "b33: an admin line over max_admin_line gets ERR LINE_TOO_LONG and a close",
    options: { maxAdminLine: 1024 },
    bytes: () => Buffer.from(`status ${CANARY}${"x".repeat(4096)}`),
    reply: { line: "ERR LINE_TOO_LONG Admin+line+longer+than+the+server+accepts\r\n" },
    kept: false,
    counter: "protocol_line_too_long",
  },
  {
    name: "b34: admin `maxqueue \\x01 -5 abc` gets ERR INVALID_ARGUMENTS and changes nothing",
    bytes: () => Buffer.from("maxqueue \x01 -5 abc\r\n", "latin1"),
    reply: { line: "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r\n" },
    kept: true,
    counter: "admin_commands",
  },
  {
    name: "b37: a TLS ClientHello on the plaintext port gets ERR TLS_NOT_SUPPORTED and a close",
    bytes: () => cat(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]), CANARY),
    reply: { line: "ERR TLS_NOT_SUPPORTED TLS+handshake+on+a+plaintext+port\r\n" },
    kept: false,
    counter: "protocol_tls_on_plaintext",
  },
  {
    name: "b37: an SSH banner gets one ERR UNKNOWN_COMMAND line and the connection is kept",
    bytes: () => Buffer.from(`SSH-2.0-OpenSSH_9.6 ${CANARY}\r\n`),
    reply: { line: "ERR UNKNOWN_COMMAND Unknown+server+commandSSH-2.0-OpenSSH_9.6\r\n" },
    kept: true,
    counter: "admin_commands",
  },
];

async function expectReply(c: RawConn, reply: Reply): Promise<void> {
  if ("error" in reply) await expectError(c, reply.error, reply.text);
  else assert.equal(await c.readUntil("\n", 1000), reply.line);
}

/** One attacking connection: sends the input, checks the reply(ies) within 1 s, then kept or closed. */
async function attack(port: number, k: Case, bytes: Buffer): Promise<void> {
  const c = await RawConn.connect(port);
  try {
    const t0 = performance.now();
    c.send(bytes);
    for (let i = 0; i < (k.times ?? 1); i++) await expectReply(c, k.reply);
    const took = performance.now() - t0;
    assert.ok(took < 1000 * Math.max(1, (k.times ?? 1) / 1000), `R6: the reply took ${took.toFixed(0)} ms`);
    if (k.kept) {
      await assertUsable(c);
      assert.equal(c.closed, false, "R6: the connection must be kept");
    } else {
      await c.expectClosed(1000);
    }
  } finally {
    c.close();
  }
}

describe(`bad input: R1–R7 for every one-shot case, ${K} attacking connections at once`, () => {
  for (const k of CASES) {
    test(k.name, () => {
      const bytes = k.bytes(); // built before the probes start: the lag meter should see the server, not the test
      return withProbe({ logLevel: "debug", ...k.options }, async (p) => {
        await Promise.all(Array.from({ length: K }, () => attack(p.port, k, bytes)));
        // The server may see the closes a turn later.
        await waitUntil(`R7: counter ${k.counter} reaches ${K * (k.times ?? 1)}`, () => p.delta(k.counter) >= K * (k.times ?? 1), 2000);
        assert.equal(p.delta(k.counter), K * (k.times ?? 1), `R7: counter ${k.counter}`);
        assert.equal(p.server.core.view.jobs.size, 0, "R3: no job was created");
        assertQuietLogs(p.logs(), K, CANARY);
      });
    });
  }

  test("b33: max_admin_line is exact: a line of max_admin_line bytes passes, one byte more is refused with or without a CR", () =>
    withProbe({ maxAdminLine: 1024 }, async (p) => {
      for (
        const [n, end, reply] of [[1024, "\r\n", "ERR UNKNOWN_COMMAND"], [1024, "\n", "ERR UNKNOWN_COMMAND"], [
          1025,
          "\r\n",
          "ERR LINE_TOO_LONG",
        ], [1025, "\n", "ERR LINE_TOO_LONG"]] as const
      ) {
        const c = await RawConn.connect(p.port);
        c.send("x".repeat(n) + end);
        const line = await c.readUntil("\n", 1000);
        assert.equal(line.split(" ").slice(0, 2).join(" "), reply, `${n} bytes + ${JSON.stringify(end)}`);
        c.close();
      }
    }));

  test("the sweep covers every one-shot case of (b) that the topic files leave to the server's reply alone", () => {
    const covered = new Set(CASES.map((k) => /^b(\d+)/.exec(k.name)![1]));
    for (
      const n of [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "11",
        "13",
        "14",
        "15",
        "16",
        "17",
        "19",
        "20",
        "24",
        "25",
        "26",
        "27",
        "28",
        "33",
        "34",
        "37",
      ]
    ) {
      assert.ok(covered.has(n), `b${n} missing from the sweep`);
    }
  });
});
