/**
 * Carries out the effects the core emits (`src/core/effect.ts`): store
 * changes go to the store writer (which batches them into one commit per
 * loop turn), workload reads, closes, backups and node listings to the connection and the
 * server, admin shutdowns to the server, log lines to the logger. It decides
 * nothing.
 *
 * @module
 */
import type { Effect, PendingAck } from "../core/mod.ts";
import type { Logger } from "../log/logger.ts";
import type { Connection } from "./connection.ts";
import type { StoreWriter } from "./store_writer.ts";

/** What the effects act on: the server's parts and its lifecycle. */
export interface EffectTarget {
  readonly writer: StoreWriter;
  readonly logger: Logger;
  connection(id: number): Connection | undefined;
  /** Reads a workload back from the store and gives the core the answer under `token`. */
  read(id: number, token: number): void;
  /** Runs the `backup` admin command and answers its held reply. */
  backup(conn: number, name: string, reply: PendingAck): void;
  /** Runs the `nodes` admin command and answers its held reply. */
  nodes(conn: number, reply: PendingAck): void;
  /** Runs the `schedule` admin command and answers its held reply. */
  schedule(conn: number, args: string[], reply: PendingAck): void;
  drain(): void;
  stop(): void;
}

export class EffectRunner {
  readonly #target: EffectTarget;

  constructor(target: EffectTarget) {
    this.#target = target;
  }

  /** Carries out one drain's effects, in the order the core emitted them. */
  run(effects: readonly Effect[]): void {
    const t = this.#target;
    for (const e of effects) {
      switch (e.kind) {
        case "persist":
          t.writer.add(e.job);
          break;
        case "forget":
          t.writer.remove(e.id);
          break;
        case "update":
          t.writer.update(e.job);
          break;
        case "replace":
          t.writer.replace(e.remove, e.add);
          break;
        case "close": {
          const conn = t.connection(e.conn);
          if (conn) {
            t.logger.limited(`close:${e.reason}`, 10_000, "debug", "closing connection", { conn: e.conn, reason: e.reason });
            conn.closeGracefully();
          }
          break;
        }
        case "read":
          t.read(e.id, e.token);
          break;
        case "backup":
          t.backup(e.conn, e.name, e.reply);
          break;
        case "nodes":
          t.nodes(e.conn, e.reply);
          break;
        case "schedule":
          t.schedule(e.conn, e.args, e.reply);
          break;
        case "shutdown":
          t.logger.info(e.graceful ? "admin requested graceful shutdown" : "admin requested shutdown");
          if (e.graceful) t.drain();
          else setTimeout(() => t.stop(), 0); // after the OK is written
          break;
        case "log":
          t.logger.log(e.level, e.message, e.fields);
          break;
      }
    }
  }
}
