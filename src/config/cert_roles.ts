/**
 * A listener's `cert_roles`: which roles a client certificate gives
 * (docs/security.md). Items are tried in order and the first that matches
 * wins; its roles, as far as the listener allows them, are the
 * connection's. A certificate that matches no item, or that the listener's
 * CA did not sign, gets no role (it may only ECHO).
 *
 * A `match` is one of:
 * - `ATTR=VALUE`: an attribute of the certificate's subject (`CN=worker-*`, `O=Acme`);
 * - `DNS:NAME`, `email:ADDRESS`, `IP Address:ADDR`, `URI:URI`: an entry of its subject alternative names.
 *
 * `*` in VALUE stands for any run of characters (none included); matching is exact otherwise.
 *
 * @module
 */
import { ConfigError } from "./setting.ts";

/** The roles a config may name (the core's roles.ts has the same four; tests/config/listeners.test.ts checks it). */
export const ROLES = ["client", "worker", "admin-read", "admin"] as const;
export type RoleName = (typeof ROLES)[number];

function isRoleName(name: string): name is RoleName {
  return (ROLES as readonly string[]).includes(name);
}

/** One mapping: a certificate that matches gets `roles`. */
export interface CertRole {
  match: string;
  roles: RoleName[];
}

/** What the TLS handshake tells of a client certificate (runtime/net.ts's PeerIdentity). */
export interface CertIdentity {
  authorized: boolean;
  subject: Record<string, string>;
  altNames: string[];
}

const SAN_KINDS = ["DNS:", "email:", "IP Address:", "URI:"];
const SUBJECT = /^([A-Za-z][A-Za-z0-9.]*)=(.+)$/;

/** A role list of a config item: a non-empty list of role names. */
export function parseRoles(raw: unknown, where: string): RoleName[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ConfigError(`${where}: must be a non-empty list of roles (client, worker, admin-read, admin), got ${JSON.stringify(raw)}`);
  }
  for (const r of raw) {
    if (typeof r !== "string" || !isRoleName(r)) {
      throw new ConfigError(`${where}: unknown role ${JSON.stringify(r)} (roles: client, worker, admin-read, admin)`);
    }
  }
  return [...new Set(raw as RoleName[])];
}

/** Checks a `cert_roles` list (`where`: `listeners[2].cert_roles`). */
export function parseCertRoles(raw: unknown, where: string): CertRole[] {
  if (!Array.isArray(raw)) throw new ConfigError(`${where}: must be a list of {match, roles} items`);
  return raw.map((item, i) => {
    const at = `${where}[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw new ConfigError(`${at}: must be a mapping {match, roles}`);
    const { match, roles, ...rest } = item as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new ConfigError(`${at}: unknown key ${JSON.stringify(extra[0])} (known: match, roles)`);
    if (typeof match !== "string" || !(SAN_KINDS.some((k) => match.startsWith(k) && match.length > k.length) || SUBJECT.test(match))) {
      throw new ConfigError(
        `${at}.match: ${JSON.stringify(match)} is neither a subject attribute (CN=worker-*) nor a subject alternative name ` +
          `(DNS:host.example, email:ops@example.com, IP Address:10.0.0.5, URI:spiffe://...)`,
      );
    }
    return { match, roles: parseRoles(roles, `${at}.roles`) };
  });
}

function glob(pattern: string, value: string): boolean {
  const re = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$", "s");
  return re.test(value);
}

function matches(match: string, id: CertIdentity): boolean {
  const kind = SAN_KINDS.find((k) => match.startsWith(k));
  if (kind) return id.altNames.some((name) => name.startsWith(kind) && glob(match.slice(kind.length), name.slice(kind.length)));
  const [, attr, value] = SUBJECT.exec(match)!;
  const actual = id.subject[attr!];
  return actual !== undefined && glob(value!, actual);
}

/** The roles the first matching item gives; none for an unverified certificate or one no item matches. */
export function certRoles(mapping: readonly CertRole[], id: CertIdentity | undefined): RoleName[] {
  if (!id?.authorized) return [];
  return mapping.find((m) => matches(m.match, id))?.roles ?? [];
}
