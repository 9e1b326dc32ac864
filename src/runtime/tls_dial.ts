/**
 * Outbound TLS: `node:tls.connect` with TLS 1.2 at least, the server's
 * certificate checked against the given CA (or the system's roots) and its
 * name against the host or `servername`, unless told to skip both; and the
 * handshake's failures in words that name the server.
 *
 * @module
 */
import { connect, type TLSSocket } from "node:tls";

/** How a client connects with TLS: PEM text, not file paths (files are read by tls_files.ts `readPem`). */
export interface ClientTlsConfig {
  /** CA certificates (PEM) the server's certificate must chain to; default: the system's roots. */
  ca?: string;
  /** A client certificate (PEM), for servers that ask for one. */
  cert?: string;
  /** The client certificate's private key (PEM). */
  key?: string;
  /** The name the server's certificate must carry (default: the host dialed). */
  servername?: string;
  /** Accept any certificate under any name: encryption without authentication. */
  insecureSkipVerify?: boolean;
}

/** Starts a TLS connection; the caller waits for `secureConnect` or `error`. */
export function connectTls(host: string, port: number, tls: ClientTlsConfig): TLSSocket {
  return connect({
    host,
    port,
    ...(tls.servername ? { servername: tls.servername } : {}),
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    minVersion: "TLSv1.2",
    rejectUnauthorized: tls.insecureSkipVerify !== true,
  });
}

/** Certificate checks that failed, by OpenSSL's code. */
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
]);

/**
 * Words for a TLS failure, or undefined when `e` is not one. `name` is the
 * name the certificate was checked against.
 */
export function tlsErrorText(e: Error, name: string): string | undefined {
  const code = String((e as NodeJS.ErrnoException).code ?? "");
  const text = `${code} ${e.message}`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || /altname|does not match|not in the cert/i.test(text)) {
    return `the server's TLS certificate is not for the name ${
      JSON.stringify(name)
    } (give the name it carries as servername, --tls-servername)`;
  }
  if (UNTRUSTED.has(code) || /self[- ]signed|unable to verify|unable to get (local )?issuer|untrusted|unknown ?issuer/i.test(text)) {
    return `the server's TLS certificate is not trusted (${e.message}; give its CA with tls.ca / --tls-ca)`;
  }
  if (code === "CERT_HAS_EXPIRED" || /expired/i.test(text)) return `the server's TLS certificate has expired (${e.message})`;
  if (code === "CERT_NOT_YET_VALID") return `the server's TLS certificate is not valid yet (${e.message})`;
  if (/certificate.?required/i.test(text)) {
    return `the server requires a client certificate it trusts (--tls-cert, --tls-key) (${e.message})`;
  }
  if (/bad.certificate|unknown.ca|certificate.unknown|decrypt.error/i.test(text)) {
    return `the server refused the client certificate (${e.message})`;
  }
  if (/alert|handshake|wrong.version|packet.length|unexpected|ssl|tls/i.test(text)) {
    return `TLS handshake failed (${e.message}; does the server speak TLS on this port?)`;
  }
  return undefined;
}
