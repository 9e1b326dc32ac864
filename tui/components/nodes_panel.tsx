/**
 * The nodes panel: the cluster's nodes as gearbox's `nodes` lists them (id,
 * address, state, heartbeat age, jobs owned), each with the queued, running
 * and workers totals of the watched server at its address. Not focusable; a
 * dead node is said in words, and in red with colour.
 */
import { Box, Text } from "ink";
import { age, cell } from "../format.ts";
import type { NodeItem, State } from "../state.ts";

export function NodesPanel({ state, nodes, height, colour }: { state: State; nodes: NodeItem[]; height: number; colour: boolean }) {
  const body = Math.max(height - 3, 1);
  const count = (word: string) => nodes.filter((n) => n.state === word || n.state.startsWith(`${word}:`)).length;
  const title = `Nodes  ${nodes.length} node${nodes.length === 1 ? "" : "s"}: ${count("live")} live, ${count("dead")} dead, ${
    count("adopted")
  } adopted`;
  const shown = nodes.length > body ? nodes.slice(0, body - 1) : nodes;
  const wide = state.width >= 100;
  // Fixed columns and their spaces: address 15+1, state 15+1, heartbeat 7, jobs 9; the totals 14 (32 when wide); the id takes the rest.
  const nodeW = Math.max(Math.min(state.width - 2 - 49 - (wide ? 32 : 14), 24), 8);
  return (
    <Box flexDirection="column" borderStyle="single" height={height}>
      <Text bold>{cell(title, state.width - 2)}</Text>
      {shown.map((n) => {
        const dead = n.state === "dead";
        const words = dead ? "DEAD" : n.state;
        const t = n.totals;
        const totals = !t
          ? "not watched"
          : wide
          ? `queued ${t.queued} running ${t.running} workers ${t.workers}`
          : `q/r/w ${t.queued}/${t.running}/${t.workers}`;
        const line = cell(n.node || "-", nodeW) + " " + cell(n.address, 15) + " " + cell(words, 15) + " " +
          cell(`hb ${age(n.heartbeatAgeMs)}`, 7) +
          cell(`${n.jobs} jobs`, 9) + totals;
        return <Text key={`${n.node}\t${n.address}`} color={colour && dead ? "red" : undefined}>{cell(line, state.width - 2)}</Text>;
      })}
      {shown.length < nodes.length && <Text dimColor>{`… ${nodes.length - shown.length} more`}</Text>}
    </Box>
  );
}
