/**
 * A raw Gearman connection for transcript-style tests: send bytes, packets
 * or admin lines; expect packets or text. It parses server replies
 * itself (not with our decoder) so protocol tests do not test the codec
 * with the codec.
 */
import { connect, type Socket } from "node:net";
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from "node:tls";
import { Buffer } from "node:buffer";

export interface RawPacket {
  magic: string;
  code: number;
  /** Payload split at every NUL (use `body` for opaque payloads). */
  args: string[];
  body: Buffer;
}

const REQ = Buffer.from([0, 0x52, 0x45, 0x51]);

/** Encodes a request packet: args joined by NUL; the last one may be a Buffer. */
export function packet(code: number, ...args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [];
  args.forEach((a, i) => {
    parts.push(typeof a === "string" ? Buffer.from(a, "latin1") : Buffer.from(a));
    if (i < args.length - 1) parts.push(Buffer.from([0]));
  });
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  REQ.copy(head, 0);
  head.writeUInt32BE(code, 4);
  head.writeUInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}

export class RawConn {
  #sock: Socket;
  #buf = Buffer.alloc(0);
  #closed = false;
  #waiters: (() => void)[] = [];

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.setNoDelay(true);
    sock.on("data", (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    sock.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
    sock.on("error", () => {});
  }

  /**
   * A TLS connection (node:tls); resolves once the handshake is done, with
   * the socket for its certificate. Rejects when the handshake fails; with
   * TLS 1.3 a refused client certificate shows only as a close after it.
   */
  static connectTls(port: number, options: ConnectionOptions): Promise<{ conn: RawConn; socket: TLSSocket }> {
    return new Promise((resolve, reject) => {
      const s = connectTls({ port, host: "127.0.0.1", servername: "localhost", ...options });
      s.once("secureConnect", () => resolve({ conn: new RawConn(s), socket: s }));
      s.once("error", reject);
    });
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host });
      s.once("connect", () => resolve(new RawConn(s)));
      s.once("error", reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received but not consumed yet. */
  get buffered(): Buffer {
    return this.#buf;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #waitFor<T>(take: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.#closed) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(bytes: Uint8Array | string): void {
    this.#sock.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  sendPacket(code: number, ...args: (string | Uint8Array)[]): void {
    this.send(packet(code, ...args));
  }

  #takePacket(): RawPacket | undefined {
    if (this.#buf.length < 12) return undefined;
    const size = this.#buf.readUInt32BE(8);
    if (this.#buf.length < 12 + size) return undefined;
    const magic = this.#buf.subarray(0, 4).toString("latin1");
    const code = this.#buf.readUInt32BE(4);
    const body = Buffer.from(this.#buf.subarray(12, 12 + size));
    this.#buf = this.#buf.subarray(12 + size);
    return { magic, code, body, args: body.toString("latin1").split("\0") };
  }

  /** Next binary packet; with `code`, asserts its type. */
  async expectPacket(code?: number, timeoutMs = 2000): Promise<RawPacket> {
    const p = await this.#waitFor(() => this.#takePacket(), timeoutMs, `packet ${code ?? "any"}`);
    if (code !== undefined && p.code !== code) {
      throw new Error(`expected packet type ${code}, got ${p.code} (${JSON.stringify(p.body.toString("latin1"))})`);
    }
    return p;
  }

  /** Reads exactly `n` bytes (as latin1 text): many pipelined replies in one wait. */
  async readBytes(n: number, timeoutMs = 2000): Promise<string> {
    return await this.#waitFor(
      () => {
        if (this.#buf.length < n) return undefined;
        const s = this.#buf.subarray(0, n).toString("latin1");
        this.#buf = this.#buf.subarray(n);
        return s;
      },
      timeoutMs,
      `${n} bytes`,
    );
  }

  /** Reads bytes up to and including `terminator` (e.g. "\n" or ".\n"). */
  async readUntil(terminator: string, timeoutMs = 2000): Promise<string> {
    const t = Buffer.from(terminator, "latin1");
    return await this.#waitFor(
      () => {
        const i = this.#buf.indexOf(t);
        if (i === -1) return undefined;
        const s = this.#buf.subarray(0, i + t.length).toString("latin1");
        this.#buf = this.#buf.subarray(i + t.length);
        return s;
      },
      timeoutMs,
      JSON.stringify(terminator),
    );
  }

  /** Sends an admin command and reads a one-line reply. */
  async adminLine(cmd: string, timeoutMs = 2000): Promise<string> {
    this.send(cmd + "\r\n");
    return await this.readUntil("\n", timeoutMs);
  }

  /** Sends an admin command and reads a list reply ending in ".\n". */
  async adminList(cmd: string, timeoutMs = 2000): Promise<string> {
    this.send(cmd + "\r\n");
    const first = await this.readUntil("\n", timeoutMs);
    if (first === ".\n" || first.startsWith("ERR ")) return first;
    // A list reply ends with a line that is exactly ".".
    let out = first;
    while (!out.endsWith("\n.\n")) out += await this.readUntil("\n", timeoutMs);
    return out;
  }

  /** Resolves when the server closes the connection; throws after `timeoutMs`. */
  async expectClosed(timeoutMs = 2000): Promise<void> {
    await this.#waitFor(() => (this.#closed ? true : undefined), timeoutMs, "close");
  }

  close(): void {
    this.#sock.destroy();
  }
}
