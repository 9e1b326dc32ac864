/**
 * Roles: what a connection may ask of the server (docs/security.md). A
 * listener gives its connections a role set, or a client certificate does
 * (the edge maps it); the core checks every request against the set before
 * its handler runs. Four roles:
 *
 * - `client`: submit jobs and ask their status;
 * - `worker`: register functions, take jobs, send their results (the reliable-queue packets too);
 * - `admin-read`: the admin text commands that only read (`status`, `workers`, `job list`, ...);
 * - `admin`: the admin commands that change something (`shutdown`, `cancel job`, `drop function`,
 *   `create function`, `job retry|cancel|purge`, `store backup`, `maxqueue`). `admin` implies `admin-read`.
 *
 * ECHO_REQ, OPTION_REQ and SET_CLIENT_ID need no role: they change nothing but
 * the connection itself. A set is a bit mask (cheap to test per packet).
 *
 * @module
 */
import { Cmd } from "../protocol/commands.ts";

/** A role's name as the config and the docs spell it. */
export type RoleName = "client" | "worker" | "admin-read" | "admin";

/** A set of roles: bits of {@link ROLE_BITS}. */
export type RoleSet = number;

export const ROLE_BITS: Readonly<Record<RoleName, number>> = Object.freeze({ client: 1, worker: 2, "admin-read": 4, admin: 8 });

/** Every role, in the order the docs list them. */
export const ROLE_NAMES: readonly RoleName[] = Object.freeze(["client", "worker", "admin-read", "admin"]);

/** Every role: a connection of a listener that names none. */
export const ALL_ROLES: RoleSet = 15;

/** No role: a connection whose certificate matched no mapping (it may still ECHO). */
export const NO_ROLES: RoleSet = 0;

/** True when `name` is a role. */
export function isRoleName(name: string): name is RoleName {
  return Object.hasOwn(ROLE_BITS, name);
}

/** The set of the named roles; `admin` brings `admin-read` along. */
export function roleSet(names: Iterable<RoleName>): RoleSet {
  let set = 0;
  for (const n of names) set |= n === "admin" ? ROLE_BITS.admin | ROLE_BITS["admin-read"] : ROLE_BITS[n];
  return set;
}

/** The names of a set's roles, in {@link ROLE_NAMES} order. */
export function roleNames(set: RoleSet): RoleName[] {
  return ROLE_NAMES.filter((n) => (set & ROLE_BITS[n]) !== 0);
}

const CLIENT_PACKETS = [
  Cmd.SUBMIT_JOB,
  Cmd.SUBMIT_JOB_BG,
  Cmd.SUBMIT_JOB_HIGH,
  Cmd.SUBMIT_JOB_HIGH_BG,
  Cmd.SUBMIT_JOB_LOW,
  Cmd.SUBMIT_JOB_LOW_BG,
  Cmd.SUBMIT_JOB_SCHED,
  Cmd.SUBMIT_JOB_EPOCH,
  Cmd.SUBMIT_REDUCE_JOB,
  Cmd.SUBMIT_REDUCE_JOB_BACKGROUND,
  Cmd.GET_STATUS,
  Cmd.GET_STATUS_UNIQUE,
];

const WORKER_PACKETS = [
  Cmd.CAN_DO,
  Cmd.CAN_DO_TIMEOUT,
  Cmd.CANT_DO,
  Cmd.RESET_ABILITIES,
  Cmd.PRE_SLEEP,
  Cmd.ALL_YOURS,
  Cmd.GRAB_JOB,
  Cmd.GRAB_JOB_UNIQ,
  Cmd.GRAB_JOB_ALL,
  Cmd.WORK_STATUS,
  Cmd.WORK_DATA,
  Cmd.WORK_WARNING,
  Cmd.WORK_COMPLETE,
  Cmd.WORK_FAIL,
  Cmd.WORK_EXCEPTION,
  Cmd.WORK_DECLINE,
  Cmd.WORK_PERMANENT_FAIL,
  Cmd.WORK_REPLACE,
  Cmd.GRAB_JOB_COALESCE,
  Cmd.WORK_FAIL_EXIT,
];

/** The role each request packet needs, by code; 0 (or a hole): any connection may send it. */
export const PACKET_ROLES: readonly number[] = (() => {
  const table: number[] = [];
  for (const code of CLIENT_PACKETS) table[code] = ROLE_BITS.client;
  for (const code of WORKER_PACKETS) table[code] = ROLE_BITS.worker;
  return Object.freeze(table);
})();

/** `job` verbs that change something; `list`, `show` (and a bad verb, answered with its usage) only read. */
const JOB_WRITES = new Set(["retry", "cancel", "purge"]);
/** Admin commands that change something, whatever their arguments. */
const ADMIN_WRITES = new Set(["shutdown", "cancel", "drop", "create", "store", "maxqueue"]);

/**
 * The role an admin text line needs: `admin` for the commands that change
 * something (`maxqueue` with only a name clears the function's limits, so it
 * is one of them), `admin-read` for every other line, unknown words included.
 */
export function adminLineRole(word: string, args: readonly string[]): number {
  const w = word.toLowerCase();
  if (ADMIN_WRITES.has(w)) return ROLE_BITS.admin;
  if (w === "job" && JOB_WRITES.has(args[0]?.toLowerCase() ?? "")) return ROLE_BITS.admin;
  return ROLE_BITS["admin-read"];
}

/** A refusal's text: what was asked, the role it needs, and the roles the connection has. */
export function denial(what: string, need: number, peer: { readonly roles: RoleSet }): string {
  const role = ROLE_NAMES.find((n) => ROLE_BITS[n] === need) ?? "admin";
  const has = roleNames(peer.roles);
  return `${what} needs the ${role} role; this connection has ${has.length === 0 ? "none" : has.join(", ")}`;
}
