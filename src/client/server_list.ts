/**
 * The servers a client or worker talks to, and the order in which a request
 * tries them: by a hash of its unique when it has one (so duplicates meet on
 * the same server and coalesce), else round robin; servers that refused a
 * connection recently go to the back of the line until their back-off ends.
 *
 * @module
 */
import type { ClientTlsConfig, DialedSocket } from "../runtime/tcp_dial.ts";
import { ClientError } from "./client_error.ts";

/** A parsed `host:port` or `tls://host:port`, or a server reached another way. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port` (`tls://host:port` over TLS) as given back in messages and maps. */
  readonly key: string;
  /** Connect with TLS, with these settings (`{}`: the system's roots, the host's name). */
  readonly tls?: ClientTlsConfig;
  /** Connects without TCP (an embedded server's `toInProcessServer()`). */
  dial?(): Promise<DialedSocket>;
}

/** A server as `host:port` or `tls://host:port` text, or an address object such as `server.toInProcessServer()`. */
export type ServerSpec = string | ServerAddress;

/** Parses `host:port` or `tls://host:port` (port defaults to 4730; `[v6]:port` accepted). */
export function parseServer(spec: string): ServerAddress {
  const m = /^(tls:\/\/)?(?:\[([^\]]+)\]|([^:/\s]+))(?::(\d{1,5}))?$/.exec(spec.trim());
  const port = Number(m?.[4] ?? 4730);
  if (!m || port < 1 || port > 65535) {
    throw new ClientError("INVALID_ARGUMENT", `bad server address ${JSON.stringify(spec)} (expected host:port or tls://host:port)`);
  }
  const host = m[2] ?? m[3]!;
  const key = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return m[1] ? { host, port, key: `tls://${key}`, tls: {} } : { host, port, key };
}

/** Splits comma-separated lists too, so `--server a:1,b:2` and repeated flags both work. */
export function parseServers(specs: readonly ServerSpec[] | undefined): ServerAddress[] {
  const list = (specs ?? ["127.0.0.1:4730"]).flatMap((s): ServerSpec[] =>
    typeof s === "string" ? s.split(",").filter((t) => t.trim() !== "") : [s]
  );
  if (list.length === 0) throw new ClientError("INVALID_ARGUMENT", "no server given");
  return list.map((s) => typeof s === "string" ? parseServer(s) : s);
}

/** How long a server that refused a connection goes to the back of the line. */
const DOWN_FOR_MS = 2_000;

/** Orders servers for each attempt of a request. */
export class ServerList {
  readonly servers: readonly ServerAddress[];
  #next = 0;
  readonly #downUntil = new Map<string, number>();

  constructor(servers: readonly ServerAddress[]) {
    this.servers = servers;
  }

  /** Where a request starts: a stable hash of its unique, or the next server in turn. */
  start(unique: string): number {
    if (unique === "") return this.#next++ % this.servers.length;
    let h = 2166136261;
    for (let i = 0; i < unique.length; i++) h = Math.imul(h ^ unique.charCodeAt(i), 16777619);
    return (h >>> 0) % this.servers.length;
  }

  /**
   * The server for the next attempt of a request that starts at `start`: the
   * first one it has not tried that is up, else the first untried one, else
   * (every server tried) the next in turn after its start.
   */
  pick(start: number, tried: readonly string[], now: number): ServerAddress {
    const n = this.servers.length;
    const rotated = Array.from({ length: n }, (_, i) => this.servers[(start + i) % n]!);
    const fresh = rotated.filter((s) => !tried.includes(s.key));
    return fresh.find((s) => (this.#downUntil.get(s.key) ?? 0) <= now) ?? fresh[0] ?? rotated[tried.length % n]!;
  }

  markDown(server: ServerAddress, now: number): void {
    this.#downUntil.set(server.key, now + DOWN_FOR_MS);
  }

  markUp(server: ServerAddress): void {
    this.#downUntil.delete(server.key);
  }
}
