/**
 * An in-process server on a store the test holds (a gated store whose
 * commits wait for the test), and a barrier that lets every byte already
 * sent to it be handled.
 *
 * @module
 */
import { createServer, type GearboxServer, type JobStore, type ServerOptions } from "../../mod.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "./raw_conn.ts";

/**
 * Runs `fn` against a server on `store`, listening on a free port; then
 * `release` (commits still gated must end, or stopping would wait on them)
 * and the stop.
 */
export async function withStoreServer<S extends JobStore>(
  store: S,
  release: () => void,
  fn: (port: number, store: S, server: GearboxServer) => Promise<void>,
  options: Partial<ServerOptions> = {},
): Promise<void> {
  const server = createServer({ port: 0, logLevel: "silent", ...options, storeInstance: store });
  await server.start();
  try {
    await fn(server.port, store, server);
  } finally {
    release();
    await server.stop();
  }
}

/**
 * An ECHO round trip on a fresh connection, then one loop turn: what the
 * server would do for bytes already sent on other connections, it did, and
 * whatever it wrote back to them has been read.
 */
export async function echoBarrier(port: number): Promise<void> {
  const o = await RawConn.connect(port);
  o.sendPacket(Cmd.ECHO_REQ, "barrier");
  await o.expectPacket(Cmd.ECHO_RES);
  o.close();
  await new Promise((r) => setImmediate(r));
}
