/**
 * One real foreground job through a server: a raw worker registers,
 * a raw client submits, the worker answers, the client gets the result.
 */
import assert from "node:assert/strict";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "./raw_conn.ts";

export async function roundTrip(port: number, fn = "reverse", payload = "hello\0world"): Promise<void> {
  const worker = await RawConn.connect(port);
  const client = await RawConn.connect(port);
  try {
    worker.sendPacket(Cmd.CAN_DO, fn);
    client.sendPacket(Cmd.SUBMIT_JOB, fn, "", payload);
    const created = await client.expectPacket(Cmd.JOB_CREATED, 5000);
    const handle = created.body.toString("latin1");
    worker.sendPacket(Cmd.GRAB_JOB_UNIQ);
    const assign = await worker.expectPacket(Cmd.JOB_ASSIGN_UNIQ, 5000);
    assert.equal(assign.args[0], handle);
    const data = assign.body.subarray(assign.body.indexOf(0, assign.body.indexOf(0, handle.length + 1) + 1) + 1);
    assert.equal(data.toString("latin1"), payload);
    worker.sendPacket(Cmd.WORK_COMPLETE, handle, [...payload].reverse().join(""));
    const done = await client.expectPacket(Cmd.WORK_COMPLETE, 5000);
    assert.equal(done.body.toString("latin1"), `${handle}\0${[...payload].reverse().join("")}`);
  } finally {
    worker.close();
    client.close();
  }
}
