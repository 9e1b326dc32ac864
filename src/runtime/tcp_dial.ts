/**
 * Outbound TCP for command-line tools: connect with a deadline, then bytes
 * in and out. `node:net` works the same on Bun and Deno.
 *
 * @module
 */
import { connect } from "node:net";

export interface DialedSocket {
  write(bytes: Uint8Array | string): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  /** Called once, with the error when the connection failed or broke. */
  onClose(cb: (error: Error | undefined) => void): void;
  close(): void;
}

/** Connects to host:port, or rejects after `timeoutMs` with a message that names the address. */
export function dial(host: string, port: number, timeoutMs: number): Promise<DialedSocket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    sock.setNoDelay(true);
    // A peer that vanishes without a FIN (host down, cable cut) is noticed by
    // the kernel's probes instead of leaving a wait on this socket forever.
    sock.setKeepAlive(true, 60_000);
    let failure: Error | undefined;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${host}:${port}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once("error", (e) => {
      failure = e;
      clearTimeout(timer);
      reject(new Error(`${host}:${port}: ${socketErrorText(e)}`));
    });
    sock.once("connect", () => {
      clearTimeout(timer);
      resolve({
        write: (bytes) => void sock.write(bytes),
        onData: (cb) => void sock.on("data", (d: Uint8Array) => cb(d)),
        onClose: (cb) => void sock.once("close", () => cb(failure)),
        close: () => void sock.destroy(),
      });
    });
  });
}

/** Words for the usual connect errors; node's own messages repeat the address. */
const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused (is the server running?)",
  ECONNRESET: "connection reset by the server",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name lookup failed (try again)",
  ETIMEDOUT: "connection timed out",
  EADDRNOTAVAIL: "address not available",
};

function socketErrorText(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && CONNECT_ERRORS[code]) ?? e.message;
}
