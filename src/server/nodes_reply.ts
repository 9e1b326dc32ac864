/**
 * The `nodes` admin command (docs/protocol.md §4.4): the cluster's nodes as
 * the store knows them, one row each, `NODE\tADDRESS\tHEARTBEAT_AGE\tJOBS\tSTATE`
 * (age in seconds; state `live`, `dead`, or `adopted:NODE`), then `.`. A
 * store that is not shared (SQLite, memory) has one node: this server.
 *
 * @module
 */
import { errLine } from "../protocol/admin_text.ts";
import type { NodeRow } from "../store/cluster_store.ts";
import type { JobStore } from "../store/job_store.ts";

/** The reply text; an `ERR` line when the store could not answer. */
export async function nodesReply(store: JobStore, self: NodeRow, leaseMs: number): Promise<string> {
  let rows: NodeRow[];
  try {
    rows = store.cluster ? await store.cluster.nodes(leaseMs) : [self];
  } catch (e) {
    return errLine("STORE_UNAVAILABLE", (e as Error).message);
  }
  return rows.map(nodeLine).join("") + ".\n";
}

function nodeLine(r: NodeRow): string {
  const state = r.state === "adopted" ? `adopted:${field(r.adoptedBy ?? "")}` : r.state;
  return `${field(r.node) || "-"}\t${field(r.address) || "-"}\t${(r.heartbeatAgeMs / 1000).toFixed(1)}\t${r.jobs}\t${state}\n`;
}

/** A name as one field: no tab or line break (node ids and addresses are the operator's text). */
function field(s: string): string {
  return s.replace(/[\t\r\n]/g, "_");
}
