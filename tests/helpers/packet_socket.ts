/**
 * A plain TCP connection to a server that reports each response packet as
 * it arrives (code, arguments split at NUL), for load tests that drive many
 * connections by callbacks rather than awaiting each reply. Errors are
 * ignored: these tests expect servers to die under them; `onClose` says when.
 */
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet } from "./raw_conn.ts";

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

/**
 * A raw worker for kill tests: registers `fn`, completes every job it is
 * assigned ("ok") after handing its JOB_ASSIGN_UNIQ arguments to `onAssign`,
 * sleeps when idle, reconnects 50 ms after its server dies, and re-polls
 * every 250 ms (a NOOP can be lost with a killed server). Resolves once
 * `running()` is false and it has left.
 */
export function reconnectingWorker(port: number, fn: string, running: () => boolean, onAssign: (args: string[]) => void): Promise<void> {
  return new Promise<void>((done) => {
    const connectOnce = () => {
      if (!running()) return done();
      const s: Socket = packetSocket(port, (code, args) => {
        if (code === Cmd.JOB_ASSIGN_UNIQ) {
          onAssign(args);
          s.write(Buffer.concat([packet(Cmd.WORK_COMPLETE, args[0]!, "ok"), packet(Cmd.GRAB_JOB_UNIQ)]));
        } else if (code === Cmd.NO_JOB) {
          if (running()) s.write(packet(Cmd.PRE_SLEEP));
          else s.end();
        } else if (code === Cmd.NOOP) s.write(packet(Cmd.GRAB_JOB_UNIQ));
      }, () => setTimeout(connectOnce, 50));
      s.once("connect", () => s.write(Buffer.concat([packet(Cmd.CAN_DO, fn), packet(Cmd.GRAB_JOB_UNIQ)])));
      const poll = setInterval(() => (s.destroyed ? clearInterval(poll) : s.write(packet(Cmd.GRAB_JOB_UNIQ))), 250);
      s.once("close", () => clearInterval(poll));
    };
    connectOnce();
  });
}
