/**
 * A TLS listener's PEM files read and checked before they are used: each
 * must be readable PEM; the certificate must be valid now; the key must be
 * the certificate's; the CA file must hold at least one certificate. A
 * failure is a `TlsFileError` naming the file and the reason, so `gearbox
 * serve` refuses to start (or a reload keeps the old files) with a message
 * that says which file to fix.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import type { TlsServerConfig } from "./net.ts";

/** A TLS file that cannot be used; the message names the file and why. */
export class TlsFileError extends Error {
  readonly code = "TLS_FILE";
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`TLS file ${file}: ${reason}`);
    this.name = "TlsFileError";
    this.file = file;
  }
}

/** Where a listener's PEM files are: `ca` set = mutual TLS. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

/** One PEM file's text (`label` says what it should hold); throws TlsFileError naming it. Clients read their CA, certificate and key with it too. */
export function readPem(file: string, label: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new TlsFileError(file, code === "ENOENT" ? "no such file" : `cannot be read (${code ?? (e as Error).message})`);
  }
  if (!text.includes("-----BEGIN ")) throw new TlsFileError(file, `not PEM (no -----BEGIN line; expected ${label})`);
  return text;
}

function certificates(file: string, text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TlsFileError(file, "holds no certificate (no BEGIN CERTIFICATE block)");
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new TlsFileError(file, `a certificate cannot be parsed (${(e as Error).message})`);
    }
  });
}

function checkDates(file: string, cert: X509Certificate, now: number): void {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now < from) throw new TlsFileError(file, `certificate not valid yet (valid from ${cert.validFrom})`);
  if (now > to) throw new TlsFileError(file, `certificate expired (valid to ${cert.validTo})`);
}

function privateKey(file: string, text: string): KeyObject {
  try {
    return createPrivateKey(text);
  } catch (e) {
    throw new TlsFileError(file, `not a private key (${(e as Error).message})`);
  }
}

/** Reads and checks the files; throws TlsFileError naming the first bad one. */
export function readTlsFiles(files: TlsFiles, now = Date.now()): TlsServerConfig {
  const cert = readPem(files.cert, "a certificate");
  const leaf = certificates(files.cert, cert)[0]!;
  checkDates(files.cert, leaf, now);
  const key = readPem(files.key, "a private key");
  if (!leaf.checkPrivateKey(privateKey(files.key, key))) {
    throw new TlsFileError(files.key, `key does not match the certificate in ${files.cert}`);
  }
  if (files.ca === undefined) return { cert, key };
  const ca = readPem(files.ca, "CA certificates");
  certificates(files.ca, ca);
  return { cert, key, ca };
}
