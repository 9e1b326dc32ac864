/**
 * gearbox: a Gearman-compatible job server you can also embed, and a
 * client, worker and admin library for any Gearman server.
 *
 * @example Client and worker
 * ```ts
 * import { Client, Worker } from "./mod.ts";
 * const worker = new Worker({ servers: ["127.0.0.1:4730"] });
 * worker.register("reverse", (job) => [...job.data].reverse().join(""));
 * void worker.work();
 * const client = new Client({ servers: ["127.0.0.1:4730"] });
 * const req = await client.submitJob("reverse", "hello");
 * console.log(req.state, req.result); // COMPLETE olleh
 * client.close();
 * await worker.stop();
 * ```
 *
 * @example Embedded server
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
export type { Clock } from "./src/server/clock.ts";
export { ManualClock } from "./src/server/manual_clock.ts";
export type { InProcessServer, StartedWorker } from "./src/server/in_process.ts";
export type { FunctionSettings, ServeSettings } from "./src/config/serve_options.ts";
/** What `createServer` (and `new Driver`) throw for a bad setting: code INVALID_CONFIG, the key named. */
export { ConfigError } from "./src/config/setting.ts";
export type { CommitResult, JobStore, StoreBatch, StoredJob } from "./src/store/job_store.ts";
export type { Adoption, ClusterStore, IdRange, NodeIdentity, NodeRow } from "./src/store/cluster_store.ts";
export { MemoryStore } from "./src/store/memory_store.ts";
export { Logger } from "./src/log/logger.ts";
export { Client, type ClientOptions, type JobSpec, type SubmitOptions } from "./src/client/client.ts";
export { type JobEnd, type JobHandler, type RegisterOptions, Worker, type WorkerOptions } from "./src/client/worker.ts";
export { JobFailure } from "./src/client/job_failure.ts";
export type { GearmanConnectionOptions } from "./src/client/packet_connection.ts";
export type { ServerAddress, ServerSpec } from "./src/client/server_list.ts";
export type { ClientTlsConfig, TlsOptions } from "./src/client/tls_options.ts";
export { type ReplacementJob, WorkerJob } from "./src/client/worker_job.ts";
export { JobRequest, type JobState, type JobStatus, type JobUpdate, type Priority } from "./src/client/job_request.ts";
export {
  AdminClient,
  type AdminClientOptions,
  AdminError,
  type FunctionDetail,
  type FunctionStatus,
  type NodeInfo,
  type PriorityStatus,
  type ShownJob,
  type WorkerInfo,
} from "./src/client/admin_client.ts";
export { ClientError, type ClientErrorCode } from "./src/client/client_error.ts";
export { bytesEncoder, type DataEncoder, jsonEncoder, textEncoder } from "./src/client/data_encoder.ts";
export {
  type Codec,
  type DecodeFunction,
  defineWorker,
  type EncodeFunction,
  type WorkerModule,
  type WorkerModuleJob,
} from "./src/driver/worker_module.ts";
export { type AddJobOptions, type CommandJobOptions, Driver, type DriverOptions, type ModuleJobOptions } from "./src/driver/api.ts";
export { DriverConsole, type DriverEvent, type DriverJob } from "./src/client/driver_console.ts";
