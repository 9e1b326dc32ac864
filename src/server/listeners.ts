/**
 * The server's listeners (docs/security.md): opens every planned one
 * (config/serve_listeners.ts), says which roles each connection gets, and
 * closes them. A listener without `cert_roles` gives its connections its
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
}

export class Listeners {
  readonly #plans: readonly ListenerConfig[];
  readonly #options: SocketOptions;
  readonly #logger: Logger;
  readonly #warnings: readonly string[];
  #open: Open[] = [];

  /** The warnings are logged at every start. */
  constructor({ plans, warnings, socket }: ListenPlan, logger: Logger) {
    this.#plans = plans;
    this.#warnings = warnings;
    this.#options = socket;
    this.#logger = logger;
  }

  /** Opens every listener in order; when one cannot, those already open are closed and the error thrown. */
  async open(admission: Admission): Promise<void> {
    try {
      for (const plan of this.#plans) this.#open.push(await this.#listen(plan, admission));
    } catch (e) {
      await this.close();
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

  /** Stops accepting on every listener; connections are left alone. */
  async close(): Promise<void> {
    const open = this.#open;
    this.#open = [];
    await Promise.all(open.map((o) => o.net.close()));
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

  async #listen(plan: ListenerConfig, admission: Admission): Promise<Open> {
    const { host, port } = splitAddress(plan.listen, "listen");
    if (plan.tls !== undefined) throw new Error(`${plan.listen}: TLS listeners are not available in this build`);
    const roles = roleSet(plan.roles);
    const mapped = plan.cert_roles.length > 0;
    const net = await listen({ ...this.#options, host, port }, (socket) => {
      const id = admission.accept(socket, mapped ? NO_ROLES : roles);
      if (id === undefined || !mapped) return;
      const onSecure = (socket as { onSecure?: (cb: (peer: Parameters<typeof certRoles>[1]) => void) => void }).onSecure;
      onSecure?.call(socket, (peer) => admission.setRoles(id, roleSet(certRoles(plan.cert_roles, peer)) & roles));
    });
    return { plan, net, roles };
  }
}
