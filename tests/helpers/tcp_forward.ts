/**
 * A TCP forwarder on 127.0.0.1: every connection to its port is piped to a
 * target. Tests put it between gearbox and PostgreSQL to make the database
 * appear (start it later) or vanish (close it) without touching the shared
 * test cluster.
 */
import { createServer, type Server, type Socket } from "node:net";

export interface Forwarder {
  readonly port: number;
  /** Stops accepting and cuts every forwarded connection. */
  close(): Promise<void>;
}

export async function forward(port: number, target: { host: string; port: number }): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = new (inbound.constructor as typeof Socket)();
    outbound.connect(target.port, target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
