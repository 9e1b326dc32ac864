/**
 * The server's listeners (docs/security.md): reads every planned one's TLS
 * files when the server is made (tls_listener.ts: bad files refuse the start
 * before a store file is made), opens them all, says which roles each
 * connection gets, rereads their certificates on SIGHUP, and closes them. A listener without `cert_roles` gives its connections its
 * roles when they are accepted; one with `cert_roles` gives none until the
 * TLS handshake names the client, then what its certificate maps to, as far
 * as the listener's roles allow (no packet can arrive before the handshake).
 *
 * @module
 */
import { certRoles } from "../config/cert_roles.ts";
import { type ListenerConfig, splitAddress } from "../config/serve_listeners.ts";
import { NO_ROLES, type RoleSet, roleSet } from "../core/mod.ts";
import type { Logger } from "../log/logger.ts";
import { listen, type ListenOptions, type NetListener, type NetSocket } from "../runtime/net.ts";
import { ListenerTls } from "./tls_listener.ts";

/** What every listener shares: the socket options of serve's settings. */
export type SocketOptions = Pick<ListenOptions, "backlog" | "keepAliveMs" | "transport">;

/** The listeners a server opens, the exposure check's warnings (one per insecure listener), their socket options. */
export interface ListenPlan {
  plans: readonly ListenerConfig[];
  warnings: readonly string[];
  socket: SocketOptions;
}

/** What the server does with a connection: accept it with roles (returns its id), and change them later. */
export interface Admission {
  accept(socket: NetSocket, roles: RoleSet): number | undefined;
  setRoles(conn: number, roles: RoleSet): void;
}

/** One open listener and what it gives. */
interface Open {
  readonly plan: ListenerConfig;
  readonly net: NetListener;
  readonly roles: RoleSet;
  readonly tls: ListenerTls | undefined;
}

export class Listeners {
  readonly #plans: readonly { plan: ListenerConfig; tls: ListenerTls | undefined }[];
  readonly #options: SocketOptions;
  readonly #logger: Logger;
  readonly #warnings: readonly string[];
  #open: Open[] = [];
  #closing: Promise<void> | undefined;

  /** Reads every listener's TLS files (throws ConfigError or TlsFileError naming one); the warnings are logged at every start. */
  constructor({ plans, warnings, socket }: ListenPlan, logger: Logger) {
    this.#plans = plans.map((plan, i) => ({ plan, tls: tlsOf(plan, plans.length > 1 ? `listeners[${i}] (${plan.listen}): ` : "") }));
    this.#warnings = warnings;
    this.#options = socket;
    this.#logger = logger;
  }

  /** Opens every listener in order; when one cannot, those already open are closed and the error thrown. */
  async open(admission: Admission): Promise<void> {
    try {
      for (const { plan, tls } of this.#plans) this.#open.push(await this.#listen(plan, tls, admission));
    } catch (e) {
      await Promise.all(this.#open.map((o) => o.net.close()));
      this.#open = [];
      throw e;
    }
    for (const w of this.#warnings) this.#logger.warn(w);
    for (const o of this.#open) {
      this.#logger.info("listener", {
        address: this.#address(o),
        tls: o.plan.tls !== undefined,
        roles: o.plan.roles.join(","),
        ...(o.plan.cert_roles.length > 0 ? { cert_roles: o.plan.cert_roles.length } : {}),
      });
    }
  }

  /** Stops accepting on every listener (once; their addresses stay readable); connections are left alone. */
  close(): Promise<void> {
    this.#closing ??= Promise.all(this.#open.map((o) => o.net.close())).then(() => {});
    return this.#closing;
  }

  /** SIGHUP: rereads every TLS listener's files; false when TLS is off or a reload was refused (logged, old kept). */
  reloadTls(): boolean {
    const tls = this.#closing ? [] : this.#open.filter((o) => o.tls !== undefined);
    let ok = tls.length > 0;
    for (const o of tls) ok = o.tls!.reload(o.net, this.#logger, this.#address(o)) && ok;
    return ok;
  }

  /** Every listener is open and none is closing (`/ready`). */
  get listening(): boolean {
    return this.#open.length === this.#plans.length && this.#closing === undefined;
  }

  /** The first listener's bound port (the one `listen`/`port` names without `listeners`). */
  get port(): number | undefined {
    return this.#open[0]?.net.port;
  }

  /** Every open listener's address as bound (`host:port`, the port a port 0 got). */
  get addresses(): string[] {
    return this.#open.map((o) => this.#address(o));
  }

  #address(o: Open): string {
    const host = splitAddress(o.plan.listen, "listen").host;
    return `${host.includes(":") ? `[${host}]` : host}:${o.net.port}`;
  }

  async #listen(plan: ListenerConfig, tls: ListenerTls | undefined, admission: Admission): Promise<Open> {
    const { host, port } = splitAddress(plan.listen, "listen");
    const roles = roleSet(plan.roles);
    const mapped = plan.cert_roles.length > 0;
    const net = await listen({ ...this.#options, host, port, tls: tls?.config }, (socket) => {
      const id = admission.accept(socket, mapped ? NO_ROLES : roles);
      if (id !== undefined && mapped) socket.onSecure((peer) => admission.setRoles(id, roleSet(certRoles(plan.cert_roles, peer)) & roles));
    });
    return { plan, net, roles, tls };
  }
}

/** A listener's TLS files read and checked, or undefined for a plaintext one (`tls: true` was resolved when planned). */
function tlsOf(plan: ListenerConfig, prefix: string): ListenerTls | undefined {
  if (plan.tls === undefined) return undefined;
  if (plan.tls === true) throw new Error(`${plan.listen}: tls: true must be resolved to files when the listeners are planned`);
  return ListenerTls.fromSettings({ tlsCert: plan.tls.cert, tlsKey: plan.tls.key, tlsCa: plan.tls.ca ?? "" }, prefix);
}
