/**
 * `gearbox serve`'s rows for TLS on the job port: the server's certificate
 * and key, and the CA whose client certificates it requires (mutual TLS).
 * Empty = plaintext. Part of SERVE_OPTIONS (serve_options.ts), in its order;
 * src/server/tls_listener.ts reads and checks the files.
 *
 * @module
 */
import type { Setting } from "./setting.ts";

export const TLS_ROWS = [
  {
    key: "tls_cert",
    type: "string",
    default: "",
    arg: "<file>",
    help: "PEM certificate (chain) of the job port: set with tls_key, the port speaks TLS 1.2/1.3 only; reread on SIGHUP",
  },
  {
    key: "tls_key",
    type: "string",
    default: "",
    arg: "<file>",
    help: "PEM private key of tls_cert; reread on SIGHUP",
  },
  {
    key: "tls_ca",
    type: "string",
    default: "",
    arg: "<file>",
    help: "PEM CA certificate(s): set = every client must present a certificate signed by one of them (mutual TLS); reread on SIGHUP",
  },
] as const satisfies readonly Setting[];
