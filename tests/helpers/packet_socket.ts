/**
 * A plain TCP connection to a server that reports each response packet as
 * it arrives (code, arguments split at NUL), for load tests that drive many
 * connections by callbacks rather than awaiting each reply. Errors are
 * ignored: these tests expect servers to die under them; `onClose` says when.
 */
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";

export function packetSocket(port: number, onPacket: (code: number, args: string[]) => void, onClose?: () => void): Socket {
  const s = connect({ port, host: "127.0.0.1" });
  let buf: Buffer = Buffer.alloc(0);
  s.setNoDelay(true);
  s.on("data", (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 12) {
      const size = buf.readUInt32BE(8);
      if (buf.length < 12 + size) break;
      onPacket(buf.readUInt32BE(4), buf.toString("latin1", 12, 12 + size).split("\0"));
      buf = buf.subarray(12 + size);
    }
  });
  s.on("error", () => {});
  if (onClose) s.on("close", onClose);
  return s;
}
