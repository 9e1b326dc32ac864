/**
 * An in-process gearbox for socket tests that need small limits, counters
 * and many scenarios fast. The server is real (sockets on 127.0.0.1, port 0).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer, type GearboxServer, type ServerOptions } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "./raw_conn.ts";
import { waitUntil } from "./wait.ts";

export async function withServer(options: ServerOptions, fn: (server: GearboxServer, port: number) => Promise<void>): Promise<void> {
  const server = createServer({ port: 0, listen: "127.0.0.1", logLevel: "silent", store: "memory:", ...options });
  await server.start();
  try {
    await fn(server, server.port);
  } finally {
    await server.stop();
  }
}

/** A 12-byte header with any magic, type and size. */
export function header(magic: string, code: number, size: number): Buffer {
  const b = Buffer.alloc(12);
  b.write(magic, 0, "latin1");
  b.writeUInt32BE(code >>> 0, 4);
  b.writeUInt32BE(size >>> 0, 8);
  return b;
}

/** R1/R2: a fresh connection's echo is answered within a second. */
export async function assertAlive(port: number): Promise<void> {
  const c = await RawConn.connect(port);
  try {
    c.sendPacket(Cmd.ECHO_REQ, "alive?");
    assert.equal((await c.expectPacket(Cmd.ECHO_RES, 1000)).body.toString(), "alive?");
  } finally {
    c.close();
  }
}

/** The next packet must be ERROR with exactly this code and text. */
export async function expectError(c: RawConn, code: string, text?: string): Promise<void> {
  const p = await c.expectPacket(Cmd.ERROR, 1000);
  assert.equal(p.args[0], code, `ERROR code (text: ${p.args[1]})`);
  if (text !== undefined) assert.equal(p.args.slice(1).join("\0"), text);
}

/** The connection still answers an echo. */
export async function assertUsable(c: RawConn): Promise<void> {
  c.sendPacket(Cmd.ECHO_REQ, "still here");
  assert.equal((await c.expectPacket(Cmd.ECHO_RES, 1000)).body.toString(), "still here");
}

export function counter(server: GearboxServer, cause: string): number {
  return server.core.view.counters.get(cause) ?? 0;
}

/**
 * Sends `bytes` on `c` and waits until the server has read them (its
 * `bytesRead` stat), so a test on a manual clock advances time after the
 * server saw them, not before.
 */
export async function sendRead(server: GearboxServer, c: RawConn, bytes: Uint8Array | string): Promise<void> {
  const want = server.stats.bytesRead + bytes.length;
  c.send(bytes);
  await waitUntil(`the server read ${bytes.length} more bytes`, () => server.stats.bytesRead >= want, 2000, 1);
}
