/**
 * TLS as the library's users give it (`tls` on Client, Worker, AdminClient
 * and DriverConsole) and the rule that applies it to servers: a `tls://`
 * server always connects with TLS; when `tls` is given, every `host:port`
 * server does too, with these settings. Files are read once, when the
 * object is made, so a bad path fails there, naming the file.
 *
 * @module
 */
import type { ClientTlsConfig } from "../runtime/tcp_dial.ts";
import { readPem } from "../runtime/tls_files.ts";
import { ClientError } from "./client_error.ts";
import type { ServerAddress } from "./server_list.ts";

export type { ClientTlsConfig };

/** The `tls` option: PEM text (`ca`, `cert`, `key`) or files holding it (`caFile`, `certFile`, `keyFile`). */
export interface TlsOptions {
  /** CA certificates (PEM text) the server's certificate must chain to; default: the system's roots. */
  ca?: string;
  /** A file holding `ca`. */
  caFile?: string;
  /** A client certificate (PEM text), for servers that require one. */
  cert?: string;
  /** A file holding `cert`. */
  certFile?: string;
  /** The client certificate's key (PEM text). */
  key?: string;
  /** A file holding `key`. */
  keyFile?: string;
  /** The name the server's certificate must carry (default: the server's host). */
  servername?: string;
  /** Accept any certificate under any name (encryption without authentication; for tests). */
  insecureSkipVerify?: boolean;
}

/** PEM text from `tls`, files read; undefined when `tls` is. Throws INVALID_ARGUMENT naming a bad file. */
export function resolveTls(tls: TlsOptions | undefined): ClientTlsConfig | undefined {
  if (tls === undefined) return undefined;
  const pem = (text: string | undefined, file: string | undefined, what: string, name: string): string | undefined => {
    if (text !== undefined && file !== undefined) {
      throw new ClientError("INVALID_ARGUMENT", `tls: give ${name} or ${name}File, not both`);
    }
    try {
      return file === undefined ? text : readPem(file, what);
    } catch (e) {
      throw new ClientError("INVALID_ARGUMENT", `tls.${name}File: ${(e as Error).message}`);
    }
  };
  const out: ClientTlsConfig = {
    ca: pem(tls.ca, tls.caFile, "CA certificates", "ca"),
    cert: pem(tls.cert, tls.certFile, "a certificate", "cert"),
    key: pem(tls.key, tls.keyFile, "a private key", "key"),
    servername: tls.servername,
    insecureSkipVerify: tls.insecureSkipVerify,
  };
  if ((out.cert === undefined) !== (out.key === undefined)) {
    throw new ClientError("INVALID_ARGUMENT", "tls: a client certificate needs its key and a key its certificate (cert and key together)");
  }
  return out;
}

/** The servers with TLS applied by the rule of the module doc; in-process addresses are left alone. */
export function applyTls(servers: readonly ServerAddress[], tls: ClientTlsConfig | undefined): ServerAddress[] {
  return servers.map((s) => {
    if (s.dial || (tls === undefined && s.tls === undefined)) return s;
    const key = s.key.startsWith("tls://") ? s.key : `tls://${s.key}`;
    return { ...s, key, tls: { ...s.tls, ...tls } };
  });
}
