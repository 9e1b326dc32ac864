/**
 * The client-side TLS rows shared by `gearbox drive` and `gearbox top`
 * (spliced into DRIVE_OPTIONS and TOP_OPTIONS): whether to dial every
 * server with TLS, and the CA, client certificate and key files and the
 * name to check. A `tls://host:port` server is dialed with TLS either way.
 *
 * @module
 */
import { ConfigError, type Setting } from "./setting.ts";

export const TLS_CLIENT_ROWS = [
  {
    key: "tls",
    type: "boolean",
    default: false,
    help: "dial every job server with TLS (tls://host:port servers always are), checking its certificate and name",
  },
  {
    key: "tls_ca",
    type: "string",
    default: "",
    arg: "<file>",
    help: "CA certificates (PEM) a server's certificate must chain to; default: the system's (implies tls)",
  },
  {
    key: "tls_cert",
    type: "string",
    default: "",
    arg: "<file>",
    help: "a client certificate (PEM) for servers that require one (implies tls)",
  },
  { key: "tls_key", type: "string", default: "", arg: "<file>", help: "the client certificate's private key (PEM), with tls_cert" },
  {
    key: "tls_servername",
    type: "string",
    default: "",
    arg: "<name>",
    help: "the name a server's certificate must carry; default: the host dialed (implies tls)",
  },
] as const satisfies readonly Setting[];

/** The rows' values, as a table's settings hold them. */
export interface TlsClientSettings {
  tls: boolean;
  tlsCa: string;
  tlsCert: string;
  tlsKey: string;
  tlsServername: string;
}

/**
 * The library's `tls` option (files, read by the client) the settings ask
 * for, or undefined when none is set; a certificate without its key (or the
 * reverse) is a ConfigError naming both keys.
 */
export function tlsClientFiles(
  s: TlsClientSettings,
): { caFile?: string; certFile?: string; keyFile?: string; servername?: string } | undefined {
  if (!s.tls && s.tlsCa === "" && s.tlsCert === "" && s.tlsKey === "" && s.tlsServername === "") return undefined;
  if ((s.tlsCert === "") !== (s.tlsKey === "")) throw new ConfigError("tls_cert and tls_key go together: give both or neither");
  return {
    ...(s.tlsCa === "" ? {} : { caFile: s.tlsCa }),
    ...(s.tlsCert === "" ? {} : { certFile: s.tlsCert, keyFile: s.tlsKey }),
    ...(s.tlsServername === "" ? {} : { servername: s.tlsServername }),
  };
}
