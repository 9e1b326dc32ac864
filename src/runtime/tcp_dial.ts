/**
 * Outbound TCP, plain or TLS (tls_dial.ts), for the library and the tools:
 * connect with a deadline, then bytes in and out. `node:net` and `node:tls`
 * work the same on Bun and Deno.
 *
 * @module
 */
import { connect, type Socket } from "node:net";
import { type ClientTlsConfig, connectTls, tlsErrorText } from "./tls_dial.ts";

export type { ClientTlsConfig } from "./tls_dial.ts";

export interface DialedSocket {
  write(bytes: Uint8Array | string): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  /** Called once, with the error when the connection failed or broke. */
  onClose(cb: (error: Error | undefined) => void): void;
  close(): void;
}

/**
 * Connects to host:port, with TLS when `tls` is given (the handshake done
 * and the certificate checked before it resolves), or rejects after
 * `timeoutMs` with a message that names the address.
 */
export function dial(host: string, port: number, timeoutMs: number, tls?: ClientTlsConfig): Promise<DialedSocket> {
  const where = `${tls ? "tls://" : ""}${host.includes(":") ? `[${host}]` : host}:${port}`;
  const words = (e: Error) => `${where}: ${(tls && tlsErrorText(e, tls.servername ?? host)) || socketErrorText(e)}`;
  return new Promise((resolve, reject) => {
    const sock: Socket = tls ? connectTls(host, port, tls) : connect({ host, port });
    sock.setNoDelay(true);
    // A peer that vanishes without a FIN (host down, cable cut) is noticed by
    // the kernel's probes instead of leaving a wait on this socket forever.
    sock.setKeepAlive(true, 60_000);
    let failure: Error | undefined;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${where}: no connection${tls ? " (TLS handshake included)" : ""} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once("error", (e) => {
      // A TLS 1.3 server refuses a client certificate after the client's handshake ended: the error comes later.
      failure = new Error(words(e));
      clearTimeout(timer);
      reject(failure);
    });
    sock.once(tls ? "secureConnect" : "connect", () => {
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
