/**
 * The TLS flags of every command that connects (`--tls`, `--tls-ca`,
 * `--tls-cert`, `--tls-key`, `--tls-servername`) and what they mean: given
 * any of them, every server is dialed with TLS; a `tls://host:port` server
 * is dialed with TLS either way. Files are read before anything is
 * contacted, so a bad one is a usage error naming the flag and the file.
 *
 * @module
 */
import type { Command } from "commander";
import type { ClientTlsConfig } from "../client/tls_options.ts";
import { readPem } from "../runtime/tls_files.ts";

/** The flags as commander gives them. */
export interface TlsFlags {
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServername?: string;
}

/** Adds the TLS flags to `c`; `what` names what is dialed ("every server", "the console"). */
export function addTlsFlags(c: Command, what = "every server"): Command {
  return c
    .option("--tls", `connect to ${what} with TLS (tls://host:port servers always are), checking its certificate and name`)
    .option("--tls-ca <file>", "CA certificates (PEM) the server's certificate must chain to (default: the system's; implies --tls)")
    .option("--tls-cert <file>", "a client certificate (PEM) for servers that require one (with --tls-key; implies --tls)")
    .option("--tls-key <file>", "the client certificate's private key (PEM)")
    .option("--tls-servername <name>", "the name the server's certificate must carry (default: the host; implies --tls)");
}

/** The TLS settings the flags ask for, files read; undefined when no TLS flag was given. Throws naming the flag. */
export function tlsFromFlags(flags: TlsFlags): ClientTlsConfig | undefined {
  const given = flags.tls === true || [flags.tlsCa, flags.tlsCert, flags.tlsKey, flags.tlsServername].some((f) => f !== undefined);
  if (!given) return undefined;
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new Error(flags.tlsCert === undefined ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key");
  }
  const pem = (file: string, flag: string, label: string) => {
    try {
      return readPem(file, label);
    } catch (e) {
      throw new Error(`${flag}: ${(e as Error).message}`);
    }
  };
  return {
    ...(flags.tlsCa === undefined ? {} : { ca: pem(flags.tlsCa, "--tls-ca", "CA certificates") }),
    ...(flags.tlsCert === undefined ? {} : { cert: pem(flags.tlsCert, "--tls-cert", "a certificate") }),
    ...(flags.tlsKey === undefined ? {} : { key: pem(flags.tlsKey, "--tls-key", "a private key") }),
    ...(flags.tlsServername === undefined ? {} : { servername: flags.tlsServername }),
  };
}
