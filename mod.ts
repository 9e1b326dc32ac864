/**
 * gearbox: a Gearman-compatible job server you can also embed.
 *
 * @example
 * ```ts
 * import { createServer } from "./mod.ts";
 * const server = createServer({ port: 0, logLevel: "warn" });
 * await server.start();
 * // ... point Gearman clients and workers at 127.0.0.1:server.port ...
 * await server.stop();
 * ```
 *
 * @module
 */
export { createServer, GearboxServer, type ServerOptions, VERSION } from "./src/server/server.ts";
export type { ServeSettings } from "./src/config/serve_options.ts";
export type { JobStore, StoreBatch, StoredJob } from "./src/store/job_store.ts";
export { MemoryStore } from "./src/store/memory_store.ts";
export { Logger } from "./src/log/logger.ts";
