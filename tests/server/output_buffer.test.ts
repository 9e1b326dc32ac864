/**
 * The server writes each connection's small replies from one reused buffer
 * (src/core/ready_output.ts): the socket gets it lent, and whatever the
 * kernel does not take at once must be copied before the buffer is reused.
 * Here a client stops reading while its worker streams, so nearly every
 * write is partial, and every byte must still arrive, in order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect } from "node:net";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { withServer } from "../helpers/inproc.ts";
import { packet } from "../helpers/raw_conn.ts";
import { sleep, waitUntil } from "../helpers/wait.ts";

const UPDATES = 5000;
const SIZE = 4000;
const payload = (i: number) => `${i}:`.padEnd(SIZE, String.fromCharCode(97 + (i % 26)));

test("a client that stops reading while its worker streams gets every update intact and in order once it reads again", async () => {
  await withServer({}, async (_server, port) => {
    const worker = await RawConn.connect(port);
    worker.sendPacket(Cmd.CAN_DO, "stream");
    const client = connect({ port, host: "127.0.0.1" });
    await new Promise<void>((r) => client.once("connect", () => r()));
    let got = Buffer.alloc(0);
    client.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
    client.write(packet(Cmd.SUBMIT_JOB, "stream", "", "x"));
    await waitUntil("JOB_CREATED arrives", () => got.length > 0);
    client.pause();
    worker.sendPacket(Cmd.GRAB_JOB);
    const handle = (await worker.expectPacket(Cmd.JOB_ASSIGN)).args[0]!;
    // A few updates at a time, so each flush stays small enough for its buffer to be pooled and reused by the next.
    for (let i = 0; i < UPDATES; i++) {
      worker.sendPacket(Cmd.WORK_DATA, handle, payload(i));
      if (i % 8 === 7) await sleep(1);
    }
    worker.sendPacket(Cmd.WORK_COMPLETE, handle, "done");
    await sleep(200); // the client's kernel buffers fill; the server queues the rest
    client.resume();
    const total = got.length + UPDATES * (12 + handle.length + 1 + SIZE) + 12 + handle.length + 5;
    await waitUntil("every update arrives", () => got.length >= total || `${got.length} of ${total} bytes`, 20_000);
    let at = 12 + got.readUInt32BE(8); // past JOB_CREATED
    for (let i = 0; i < UPDATES; i++) {
      assert.equal(got.readUInt32BE(at + 4), Cmd.WORK_DATA, `update ${i} is WORK_DATA`);
      const size = got.readUInt32BE(at + 8);
      assert.equal(got.toString("latin1", at + 12, at + 12 + size), `${handle}\0${payload(i)}`, `update ${i} intact`);
      at += 12 + size;
    }
    assert.equal(got.readUInt32BE(at + 4), Cmd.WORK_COMPLETE);
    assert.equal(got.toString("latin1", at + 12), `${handle}\0done`);
    client.destroy();
    worker.close();
  });
});
