/**
 * What both TLS listeners (node:tls in net_tls.ts, Bun's in net_bun_tls.ts)
 * read off certificates: whether a key is its certificate's, and who a
 * client certificate names.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { PeerIdentity, TlsServerConfig } from "./net.ts";

/** Throws when the key is not the certificate's (checked before anything is bound or swapped). */
export function checkKeyPair(tls: TlsServerConfig): void {
  if (!new X509Certificate(tls.cert).checkPrivateKey(createPrivateKey(tls.key))) {
    throw new Error("TLS key does not match the certificate");
  }
}

/** A peer certificate as both runtimes' `getPeerCertificate()` give it. */
export interface PeerCertificate {
  subject?: Record<string, string | string[]>;
  subjectaltname?: string;
}

/** The client certificate's identity, or undefined when none was presented (an empty object). */
export function identityOf(cert: PeerCertificate | null | undefined, authorized: boolean): PeerIdentity | undefined {
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const subject: Record<string, string> = {};
  for (const [k, v] of Object.entries(cert.subject ?? {})) subject[k] = Array.isArray(v) ? v.join(",") : String(v);
  const altNames = (cert.subjectaltname ?? "").split(",").map((n) => n.trim()).filter((n) => n !== "");
  return { authorized, subject, altNames };
}
