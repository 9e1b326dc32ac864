/**
 * `gearbox serve`'s listeners (docs/security.md): where it accepts
 * connections and what each may ask. From the config file's `listeners:`
 * list, the repeatable `--listener SPEC` flag (which replaces the file's
 * list) or `createServer({ listeners })`. Without any, the server has one
 * listener, `listen`:`port`, with every role, TLS when `tls_cert` is set and
 * `insecure` from the top-level setting.
 *
 * An item: `listen: HOST:PORT`, `roles: [...]` (default every role),
 * `tls: true` (the top-level `tls_cert`, `tls_key`, `tls_ca` files) or
 * `tls: {cert, key, ca}` (files of its own; `ca` requires client
 * certificates), `insecure: true|false`, and `cert_roles` (cert_roles.ts;
 * needs a CA). A spec: `HOST:PORT[,roles=client+worker][,tls][,insecure]`.
 *
 * No accidental exposure ({@link checkExposure}): a listener on an address
 * other hosts can reach that has no TLS is refused unless it says `insecure`.
 *
 * @module
 */
import { type CertRole, parseCertRoles, parseRoles, type RoleName, ROLES } from "./cert_roles.ts";
import { ConfigError } from "./setting.ts";

/** A listener's own certificate files (PEM), or `true`: the top-level tls_* files. */
export type ListenerTls = true | { cert: string; key: string; ca?: string };

/** One listener as a config file or `createServer({ listeners })` gives it: only `listen` is required. */
export interface ListenerItem {
  listen: string;
  roles?: RoleName[];
  tls?: ListenerTls;
  insecure?: boolean;
  cert_roles?: CertRole[];
}

/** One listener, as checked (an item's shape, so checking it again changes nothing). */
export interface ListenerConfig extends ListenerItem {
  roles: RoleName[];
  insecure: boolean;
  cert_roles: CertRole[];
}

const ITEM_KEYS = ["listen", "roles", "tls", "insecure", "cert_roles"];

/** `HOST:PORT` (an IPv6 host in brackets) into its parts; throws naming `where`. */
export function splitAddress(text: unknown, where: string): { host: string; port: number } {
  const m = typeof text === "string" ? /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:\[\]]+)):(\d{1,5})$/.exec(text) : null;
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(`${where}: ${JSON.stringify(text)} is not HOST:PORT (e.g. 0.0.0.0:4731, [::1]:4730, port 0 for a free one)`);
  }
  return { host: m[1] ?? m[2]!, port };
}

function parseTls(raw: unknown, where: string): ListenerTls | undefined {
  if (raw === undefined || raw === false) return undefined;
  if (raw === true) return true;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: must be true (the top-level tls_cert, tls_key, tls_ca) or a mapping {cert, key, ca}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!["cert", "key", "ca"].includes(k)) throw new ConfigError(`${where}: unknown key ${JSON.stringify(k)} (known: cert, key, ca)`);
    if (typeof v !== "string" || v === "") throw new ConfigError(`${where}.${k}: must be a file path, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  if (!out.cert || !out.key) throw new ConfigError(`${where}: needs both cert and key (file paths)`);
  return { cert: out.cert, key: out.key, ...(out.ca ? { ca: out.ca } : {}) };
}

/** Checks one item of `listeners` (`where`: `gearbox.yaml: listeners[1]`). */
function parseItem(raw: unknown, where: string): ListenerConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: must be a mapping {listen, roles, tls, insecure, cert_roles}`);
  }
  const item = raw as Record<string, unknown>;
  for (const k of Object.keys(item)) {
    if (!ITEM_KEYS.includes(k)) throw new ConfigError(`${where}: unknown key ${JSON.stringify(k)} (known: ${ITEM_KEYS.join(", ")})`);
  }
  splitAddress(item.listen, `${where}.listen`);
  if (item.insecure !== undefined && typeof item.insecure !== "boolean") {
    throw new ConfigError(`${where}.insecure: must be true or false, got ${JSON.stringify(item.insecure)}`);
  }
  const tls = parseTls(item.tls, `${where}.tls`);
  const certRoles = item.cert_roles === undefined ? [] : parseCertRoles(item.cert_roles, `${where}.cert_roles`);
  if (certRoles.length > 0 && (tls === undefined || (tls !== true && !tls.ca))) {
    throw new ConfigError(`${where}.cert_roles: needs client certificates: tls with a ca (or tls: true with tls_ca set)`);
  }
  return {
    listen: item.listen as string,
    roles: item.roles === undefined ? [...ROLES] : parseRoles(item.roles, `${where}.roles`),
    ...(tls ? { tls } : {}),
    insecure: item.insecure === true,
    cert_roles: certRoles,
  };
}

/** Checks a `listeners` list: every item, and no address twice (port 0 excepted: each gets a free port). */
export function parseListeners(raw: unknown, origin: string): ListenerConfig[] {
  if (!Array.isArray(raw)) throw new ConfigError(`${origin}: listeners must be a list of {listen, roles, tls, insecure, cert_roles}`);
  const out = raw.map((item, i) => parseItem(item, `${origin}: listeners[${i}]`));
  const seen = new Map<string, number>();
  out.forEach((l, i) => {
    const { host, port } = splitAddress(l.listen, "");
    const key = `${host.toLowerCase()}:${port}`;
    if (port !== 0 && seen.has(key)) {
      throw new ConfigError(`${origin}: listeners[${i}]: ${l.listen} is already listeners[${seen.get(key)}]'s address`);
    }
    seen.set(key, i);
  });
  return out;
}

/** One `--listener` flag: `HOST:PORT[,roles=client+worker][,tls][,insecure]`. */
export function parseListenerSpec(spec: string): ListenerConfig {
  const where = `--listener ${spec}`;
  const [address, ...options] = spec.split(",");
  const item: Record<string, unknown> = { listen: address };
  for (const o of options) {
    if (o === "tls") item.tls = true;
    else if (o === "insecure") item.insecure = true;
    else if (o.startsWith("roles=")) item.roles = o.slice(6).split("+");
    else throw new ConfigError(`${where}: unknown option ${JSON.stringify(o)} (known: roles=ROLE+ROLE, tls, insecure)`);
  }
  return parseItem(item, where);
}

/** Certificate files as paths (a listener's own, or the top-level tls_cert, tls_key, tls_ca). */
export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

/**
 * The listeners a server opens: the list, or the one of `listen`, `port`,
 * `insecure` and the top-level TLS files (`top`, when tls_cert is set). A
 * `tls: true` item gets `top`'s files; without them it is refused, as is
 * `cert_roles` without a CA.
 */
export function plannedListeners(
  settings: { listen: string; port: number; insecure: boolean; listeners: readonly ListenerConfig[] },
  top: TlsFiles | undefined,
): ListenerConfig[] {
  if (settings.listeners.length === 0) {
    const host = settings.listen.includes(":") ? `[${settings.listen}]` : settings.listen;
    return [{
      listen: `${host}:${settings.port}`,
      roles: [...ROLES],
      ...(top ? { tls: top } : {}),
      insecure: settings.insecure,
      cert_roles: [],
    }];
  }
  return settings.listeners.map((l, i) => {
    if (l.tls !== true) return l;
    if (!top) throw new ConfigError(`listeners[${i}] (${l.listen}): tls: true needs the top-level tls_cert and tls_key`);
    if (l.cert_roles.length > 0 && !top.ca) {
      throw new ConfigError(`listeners[${i}] (${l.listen}): cert_roles needs tls_ca (client certificates)`);
    }
    return { ...l, tls: top };
  });
}

/** True for an address only this host can reach: 127.0.0.0/8, ::1, localhost. 0.0.0.0 and :: are every interface. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Refuses a listener other hosts can reach without TLS unless it says
 * `insecure` (the message says how to do it safely); returns one warning
 * per insecure one, to log at every start.
 */
export function checkExposure(listeners: readonly ListenerConfig[]): string[] {
  const warnings: string[] = [];
  for (const l of listeners) {
    const { host } = splitAddress(l.listen, "listen");
    if (l.tls !== undefined || isLoopback(host)) continue;
    if (!l.insecure) {
      throw new ConfigError(
        `${l.listen} is reachable from other hosts and has no TLS, so jobs, results and admin commands would cross the network in clear. ` +
          `Give it a certificate (--tls-cert FILE --tls-key FILE, or tls: in its listeners item), ` +
          `or bind a loopback address (--listen 127.0.0.1), ` +
          `or, on a network you trust, say so with --insecure (insecure: true in its listeners item)`,
      );
    }
    warnings.push(`${l.listen} accepts plaintext connections from other hosts (insecure: true): anyone who can reach it may use it`);
  }
  return warnings;
}
