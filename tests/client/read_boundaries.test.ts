/**
 * The client never loses a packet, whatever the read boundaries: a scripted
 * server socket answers a submission with JOB_CREATED and then the job's
 * WORK_DATA, WORK_WARNING, WORK_STATUS and its end (WORK_COMPLETE, WORK_FAIL
 * or WORK_EXCEPTION) in one write, and again split at every byte boundary
 * into two writes that arrive as two reads. Before the fix the handle was
 * registered only after `await` resumed, so a result in the same read as
 * JOB_CREATED was dropped and the request hung.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { Client } from "../../src/client/client.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { Decoder } from "../../src/protocol/decoder.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";

const HANDLE = "H:scripted:1";
const text = (s: string) => new TextEncoder().encode(s);

type Ending = "complete" | "fail" | "exception";

/** The bytes a server sends after a SUBMIT_JOB: created, updates, the end. */
function answer(ending: Ending): Uint8Array {
  const end = ending === "complete"
    ? encodePacket(Cmd.WORK_COMPLETE, [HANDLE], text("olleh"), "RES")
    : ending === "fail"
    ? encodePacket(Cmd.WORK_FAIL, [HANDLE], undefined, "RES")
    : encodePacket(Cmd.WORK_EXCEPTION, [HANDLE], text("boom"), "RES");
  return Buffer.concat([
    encodePacket(Cmd.JOB_CREATED, [HANDLE], undefined, "RES"),
    encodePacket(Cmd.WORK_DATA, [HANDLE], text("part"), "RES"),
    encodePacket(Cmd.WORK_WARNING, [HANDLE], text("careful"), "RES"),
    encodePacket(Cmd.WORK_STATUS, [HANDLE, "1", "2"], undefined, "RES"),
    end,
  ]);
}

/**
 * A server that answers OPTION_REQ with OPTION_RES and each SUBMIT_JOB with
 * the scripted bytes: in one write when `split` is 0, else as two writes
 * (the second after the client read the first).
 */
class ScriptedServer {
  readonly #server: Server;
  ending: Ending = "complete";
  split = 0;

  constructor() {
    this.#server = createServer((socket) => this.#serve(socket));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => {
      this.#server.listen(0, "127.0.0.1", () => resolve((this.#server.address() as { port: number }).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    socket.setNoDelay(true);
    const decoder = new Decoder({ expect: "REQ", text: false });
    socket.on("data", (chunk: Uint8Array) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.kind !== "packet") continue;
        if (frame.code === Cmd.OPTION_REQ) socket.write(encodePacket(Cmd.OPTION_RES, frame.args, undefined, "RES"));
        if (frame.code !== Cmd.SUBMIT_JOB) continue;
        const bytes = answer(this.ending);
        if (this.split === 0) {
          socket.write(bytes);
          continue;
        }
        socket.write(bytes.subarray(0, this.split));
        // A macrotask later, so the client's first read has happened.
        setTimeout(() => socket.write(bytes.subarray(this.split)), 1);
      }
    });
    socket.on("error", () => {});
  }
}

describe("a client request whose answers arrive in one read", () => {
  const server = new ScriptedServer();
  let port = 0;
  beforeAll(async () => {
    port = await server.listen();
  });
  afterAll(() => server.close());

  async function submit(ending: Ending, split: number) {
    server.ending = ending;
    server.split = split;
    const client = new Client({ servers: [`127.0.0.1:${port}`] });
    try {
      // The 2 s bound only turns a hang into a failed assertion below.
      return await client.submitJob("reverse", "hello", { timeoutMs: 2000 });
    } finally {
      client.close();
    }
  }

  test("JOB_CREATED and WORK_COMPLETE in one write complete the request with every update", async () => {
    const req = await submit("complete", 0);
    expect(req.timedOut).toBe(false);
    expect(req.state).toBe("COMPLETE");
    expect(req.result).toBe("olleh");
    expect(req.dataUpdates).toEqual(["part"]);
    expect(req.warningUpdates).toEqual(["careful"]);
    expect(req.status?.numerator).toBe(1);
    expect(req.status?.denominator).toBe(2);
  });

  test("JOB_CREATED and WORK_FAIL in one write fail the request", async () => {
    const req = await submit("fail", 0);
    expect(req.timedOut).toBe(false);
    expect(req.state).toBe("FAILED");
    expect(req.exception).toBeUndefined();
    expect(req.dataUpdates).toEqual(["part"]);
  });

  test("JOB_CREATED and WORK_EXCEPTION in one write fail the request with the exception", async () => {
    const req = await submit("exception", 0);
    expect(req.timedOut).toBe(false);
    expect(req.state).toBe("FAILED");
    expect(req.exception).toBe("boom");
  });

  test("the answers split at every byte boundary into two reads still complete the request", async () => {
    const total = answer("complete").length;
    const lost: number[] = [];
    for (let split = 1; split < total; split++) {
      const req = await submit(split % 3 === 0 ? "exception" : "complete", split);
      const ok = split % 3 === 0 ? req.exception === "boom" : req.result === "olleh";
      if (!ok || req.timedOut || req.dataUpdates.length !== 1 || req.warningUpdates.length !== 1) lost.push(split);
    }
    expect(lost).toEqual([]);
  });
});

describe("a server that stops answering", () => {
  test("a pipelined batch answered slower than the deadline in all, but within it reply after reply, completes; silence after it fails", async () => {
    // Answers the first six SUBMIT_JOB_BG one every 60 ms, then nothing: the deadline (150 ms) counts from the last reply.
    let answered = 0;
    const slow = createServer((socket) => {
      socket.on("error", () => {});
      const decoder = new Decoder({ expect: "REQ", text: false });
      socket.on("data", (chunk: Uint8Array) => {
        for (const frame of decoder.push(chunk)) {
          if (frame.kind !== "packet") continue;
          if (frame.code === Cmd.OPTION_REQ) socket.write(encodePacket(Cmd.OPTION_RES, frame.args, undefined, "RES"));
          if (frame.code !== Cmd.SUBMIT_JOB_BG || answered >= 6) continue;
          const n = ++answered;
          setTimeout(() => socket.write(encodePacket(Cmd.JOB_CREATED, [`H:slow:${n}`], undefined, "RES")), 60 * n);
        }
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", () => resolve()));
    const port = (slow.address() as { port: number }).port;
    const client = new Client({ servers: [`127.0.0.1:${port}`], replyTimeoutMs: 150, maxConnectionAttempts: 1 });
    try {
      const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ function: "f", data: `${i}`, background: true }));
      const started = Date.now();
      const first = await client.submitMultipleJobs(jobs(6), { waitUntilComplete: false });
      expect(first.map((r) => r.state)).toEqual(Array(6).fill("CREATED"));
      expect(Date.now() - started).toBeGreaterThanOrEqual(300); // longer than the deadline, in all
      const silentAt = Date.now();
      const second = await client.submitMultipleJobs(jobs(2), { waitUntilComplete: false });
      expect(second.map((r) => r.error?.code)).toEqual(["UNREACHABLE", "UNREACHABLE"]);
      expect(Date.now() - silentAt).toBeLessThan(5_000);
    } finally {
      client.close();
      slow.close();
    }
  });

  test("a submission it never answers fails UNREACHABLE once every attempt passed its reply deadline", async () => {
    const silent = createServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const port = (silent.address() as { port: number }).port;
    const client = new Client({ servers: [`127.0.0.1:${port}`], replyTimeoutMs: 150, maxConnectionAttempts: 2 });
    try {
      const started = Date.now();
      const error = await client.submitJob("reverse", "hello").then(() => undefined, (e) => e);
      expect(error?.code).toBe("UNREACHABLE");
      expect(error?.message).toContain("no reply within 150 ms");
      // Two attempts of 150 ms each, plus scheduling slack; without the deadline this never returns.
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      client.close();
      silent.close();
    }
  });
});
