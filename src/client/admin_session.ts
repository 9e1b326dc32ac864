/**
 * One admin text connection for the command-line tools: send a line, read
 * a one-line or a listed reply (rows then `.`), with a deadline per reply.
 * Works against gearbox and gearmand alike.
 *
 * @module
 */
import { type ClientTlsConfig, dial, type DialedSocket } from "../runtime/tcp_dial.ts";
import { parseServer } from "./server_list.ts";
import { applyTls } from "./tls_options.ts";

/** The server answered `ERR code text`. */
export class AdminError extends Error {
  readonly code: string;
  constructor(code: string, text: string) {
    super(text === "" ? code : `${code}: ${text}`);
    this.name = "AdminError";
    this.code = code;
  }
}

/** One admin connection; see the module doc. */
export class AdminSession {
  readonly #socket: DialedSocket;
  readonly #timeoutMs: number;
  #buffer = "";
  #closed: Error | undefined;
  #wake: (() => void) | undefined;
  #turn: Promise<void> = Promise.resolve();

  private constructor(socket: DialedSocket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.onData((chunk) => {
      this.#buffer += new TextDecoder("latin1").decode(chunk);
      this.#wake?.();
    });
    socket.onClose((e) => {
      this.#closed = e ?? new Error("the server closed the connection");
      this.#wake?.();
    });
  }

  /** Connects to `host:port` or `tls://host:port` (`tls` given: with TLS either way, see tls_options.ts). */
  static async open(server: string, timeoutMs = 5000, tls?: ClientTlsConfig): Promise<AdminSession> {
    const [address] = applyTls([parseServer(server)], tls);
    return new AdminSession(await dial(address!.host, address!.port, timeoutMs, address!.tls), timeoutMs);
  }

  /** A command answered by one line (`OK ...`); `ERR` lines throw {@link AdminError}. */
  line(command: string): Promise<string> {
    return this.#exclusive(async () => {
      this.#socket.write(command + "\r\n");
      return errorOrValue(await this.#readLine());
    });
  }

  /** A command answered by rows ending in `.`. */
  list(command: string): Promise<string[]> {
    return this.#exclusive(async () => {
      this.#socket.write(command + "\r\n");
      const rows: string[] = [];
      for (;;) {
        const row = await this.#readLine();
        if (rows.length === 0 && row.startsWith("ERR ")) errorOrValue(row);
        if (row === ".") return rows;
        rows.push(row);
      }
    });
  }

  /** A command whose every reply ends with a `.` line, errors included (the driver's console). */
  block(command: string): Promise<string[]> {
    return this.#exclusive(async () => {
      this.#socket.write(command + "\r\n");
      const rows: string[] = [];
      for (let row = await this.#readLine(); row !== "."; row = await this.#readLine()) rows.push(row);
      return rows;
    });
  }

  /**
   * Any command, its reply shape guessed as gearadmin does: a first line of
   * `OK`/`ERR` is the whole reply, anything else is rows up to `.`.
   */
  raw(command: string): Promise<{ lines: string[]; listed: boolean }> {
    return this.#exclusive(async () => {
      this.#socket.write(command + "\r\n");
      const first = await this.#readLine();
      if (/^(OK|ERR)( |$)/.test(first)) return { lines: [first], listed: false };
      const lines: string[] = [];
      for (let row = first; row !== "."; row = await this.#readLine()) lines.push(row);
      return { lines, listed: true };
    });
  }

  /**
   * One command at a time: replies carry no id, so two commands in flight
   * would read each other's lines (a `kill` from a key press while the
   * poller reads `events` got the poller's JSON). A reply that times out
   * leaves the stream out of step, so the session is closed.
   */
  #exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(async () => {
      try {
        return await body();
      } catch (e) {
        if (!(e instanceof AdminError)) {
          this.#closed ??= e as Error;
          this.#socket.close();
        }
        throw e;
      }
    });
    this.#turn = run.then(() => {}, () => {});
    return run;
  }

  close(): void {
    this.#socket.close();
  }

  async #readLine(): Promise<string> {
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl !== -1) {
        const line = this.#buffer.slice(0, nl).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      if (this.#closed) throw this.#closed;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${this.#timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

function errorOrValue(line: string): string {
  if (!line.startsWith("ERR ")) return line;
  const [, code = "", text = ""] = /^ERR (\S+) ?(.*)$/.exec(line) ?? [];
  throw new AdminError(code, text.replaceAll("+", " "));
}
