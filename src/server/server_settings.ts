/**
 * A server's settings, resolved once: checked by the serve table (an
 * embedding application's `createServer({...})` is judged as a command line
 * is), then projected where each row's `to` says, durations in ms: the core's
 * options, the connection limits (its decoder's among them) and the edge's
 * timers; and the listeners to open, a public one without TLS refused
 * (serve_listeners.ts). The server reads these and never converts a unit itself.
 *
 * @module
 */
import { metricsAddress } from "../config/metrics_address.ts";
import type { CoreOptions, CoreSettings } from "../core/mod.ts";
import { checkServeSettings, resolveSettings } from "../config/load_config.ts";
import { SERVE_OPTIONS, type ServeSettings } from "../config/serve_options.ts";
import { camel, ConfigError, type TargetsOf } from "../config/setting.ts";
import { project } from "../config/settings_table.ts";
import { checkExposure, plannedListeners, type TlsFiles } from "../config/serve_listeners.ts";
import type { ListenPlan } from "./listeners.ts";
import type { ConnectionLimits } from "./connection.ts";

/** The edge's timers and rates, in ms: every row of the serve table with `to: "edge.NAME"`. */
export type EdgeSettings = TargetsOf<typeof SERVE_OPTIONS, "edge">;

export interface ResolvedServer {
  /** As given, in the README's units (what `server.settings` shows). */
  settings: ServeSettings;
  /** The core's options that come from settings, every one (the rest: handle prefix, pid... are the server's). */
  core: CoreSettings;
  connection: ConnectionLimits;
  /** The edge's settings, and every listener to open (serve_listeners.ts), checked for exposure, with their socket options. */
  edge: EdgeSettings & { listening: ListenPlan };
}

const CONNECTION_KEYS: readonly (keyof ConnectionLimits)[] = ["maxPacketBody", "maxAdminLine", "maxOutputBuffer"];

/** Checks `options` (throws ConfigError naming the key) and places every value. */
export function resolveServer(options: Record<string, unknown>): ResolvedServer {
  const settings = resolveSettings([checkServeSettings(options)]);
  const plans = plannedListeners(settings, topTls(settings));
  const warnings = checkExposure(plans);
  if (settings.metricsListen !== "") metricsAddress(settings.metricsListen, settings.metricsInsecure); // refused here, not at start
  const out = project(SERVE_OPTIONS, settings);
  const edge = out.edge as EdgeSettings;
  // Every core setting has a row with a default (tests/config/server_settings.test.ts checks it).
  const core = { ...out.core, functions: functionOptions(settings) } as unknown as CoreSettings;
  const connection = only(out.connection ?? {}, CONNECTION_KEYS, "connection") as Omit<ConnectionLimits, "hardOutputBuffer">;
  return {
    settings,
    core,
    // Past this a connection is dropped rather than buffered: a few caps' worth, and one whole packet.
    connection: { ...connection, hardOutputBuffer: 4 * connection.maxOutputBuffer + connection.maxPacketBody },
    // Its type is derived from the same rows, so every field is there.
    edge: {
      ...edge,
      listening: { plans, warnings, socket: { backlog: settings.backlog, keepAliveMs: edge.keepAliveMs, transport: settings.transport } },
    },
  };
}

/** The top-level tls_* files when any is set (the default listener's, and `tls: true` items'); a missing one is refused when read. */
function topTls(s: ServeSettings): TlsFiles | undefined {
  if (s.tlsCert === "" && s.tlsKey === "" && s.tlsCa === "") return undefined;
  return { cert: s.tlsCert, key: s.tlsKey, ...(s.tlsCa === "" ? {} : { ca: s.tlsCa }) };
}

let defaults: CoreSettings | undefined;

/** The core's settings at their defaults, in ms: for a core used without a server (tests, tools). */
export function coreSettings(): CoreSettings {
  return { ...(defaults ??= resolveServer({}).core) };
}

/** The `functions:` overrides, placed by the same rows as the server-wide values. */
function functionOptions(settings: ServeSettings): CoreOptions["functions"] {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, f] of Object.entries(settings.functions)) {
    const values = Object.fromEntries(Object.entries(f).map(([key, v]) => [camel(key), v]));
    out[name] = project(SERVE_OPTIONS, values).core ?? {};
  }
  return out;
}

/** A row whose `to` names a field the layer does not have is a defect: fail at once, not silently. */
function only(group: Record<string, unknown>, known: readonly string[], name: string): Record<string, unknown> {
  for (const key of Object.keys(group)) {
    if (!known.includes(key)) throw new Error(`serve settings: a row goes to ${name}.${key}, which ${name} does not have`);
  }
  return group;
}

/**
 * Refuses `max_function_name` and `max_unique` whose longest pair could not
 * be stored by `store` (its unique index's entry limit): refused at start,
 * not by the first long submission's failed commit. A name or unique is read
 * as latin1, two UTF-8 bytes a character at most.
 */
export function checkKeyFits(
  core: Pick<CoreSettings, "maxFunctionName" | "maxUnique">,
  store: { maxKeyBytes?: number; url: string },
): void {
  const limit = store.maxKeyBytes;
  if (limit === undefined || 2 * (core.maxFunctionName + core.maxUnique) <= limit) return;
  throw new ConfigError(
    `max_function_name (${core.maxFunctionName}) + max_unique (${core.maxUnique}) is too large for the store ${store.url}: ` +
      `at most ${Math.floor(limit / 2)} bytes together (its unique index holds both, two bytes a character)`,
  );
}
