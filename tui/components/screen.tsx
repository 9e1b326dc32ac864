/**
 * The whole screen for one state: header, the cluster's nodes (when there
 * are several servers or nodes), the schedules (when there are any), queues, processes, events (or the
 * selected function's detail), the status line, and the help overlay. Sizes
 * follow the terminal; pure: the same state draws the same screen.
 */
import { Box, Text } from "ink";
import { HELP_LINES } from "../keymap.ts";
import { nodeRows, scheduleRows, type State } from "../state.ts";
import { DetailPanel } from "./detail_panel.tsx";
import { EventsPanel } from "./events_panel.tsx";
import { NodesPanel } from "./nodes_panel.tsx";
import { ProcessesPanel } from "./processes_panel.tsx";
import { SchedulesPanel } from "./schedules_panel.tsx";
import { QueuesPanel } from "./queues_panel.tsx";

export function Screen({ state, colour }: { state: State; colour: boolean }) {
  const up = state.servers.filter((s) => s.up).length;
  const header = `gearbox top  servers ${up}/${state.servers.length} up  drivers ${
    state.drivers.filter((d) => d.up).length
  }/${state.drivers.length}  every ${state.intervalMs / 1000}s${state.readOnly ? "  [read-only]" : ""}`;
  if (state.help) {
    return (
      <Box flexDirection="column" borderStyle="double" width={state.width}>
        <Text bold>gearbox top: keys</Text>
        {HELP_LINES.map((l) => <Text key={l}>{l}</Text>)}
        {state.readOnly && <Text>--read-only: +, -, K and R are disabled</Text>}
        <Text dimColor>? or Esc closes this help</Text>
      </Box>
    );
  }
  const nodes = nodeRows(state);
  // The nodes panel (a cluster, or several servers) takes up to 30% of the height from the others: 3 nodes at 80x24.
  const nodesHeight = nodes ? Math.min(nodes.length + 3, Math.max(Math.floor(Math.max(state.height - 2, 12) * 0.3), 4)) : 0;
  const schedules = scheduleRows(state);
  // The schedules panel (when a server has any) takes up to a quarter of the height: 2 schedules at 80x24.
  const schedulesHeight = schedules ? Math.min(schedules.length + 3, Math.max(Math.floor(Math.max(state.height - 2, 12) * 0.25), 5)) : 0;
  const rest = Math.max(state.height - 2, 12) - nodesHeight - schedulesHeight;
  const queues = Math.max(Math.floor(rest * 0.42), 5);
  const processes = Math.max(Math.floor(rest * 0.33), 5);
  const bottom = Math.max(rest - queues - processes, 4);
  // An action's result shows for 10 s, then the key hints come back.
  const status = state.status && state.now - state.status.at < 10_000
    ? state.status.text
    : state.editingFilter
    ? `filter: ${state.filter}▏ (Enter keeps, Esc clears)`
    : "q quit  ? help  Tab panel  / filter  s sort  Enter detail  +/- max  K kill  R retry";
  return (
    <Box flexDirection="column" width={state.width}>
      <Text bold color={colour ? "cyan" : undefined} wrap="truncate-end">{header}</Text>
      {nodes && <NodesPanel state={state} nodes={nodes} height={nodesHeight} colour={colour} />}
      {schedules && <SchedulesPanel state={state} schedules={schedules} height={schedulesHeight} />}
      <QueuesPanel state={state} height={queues} colour={colour} />
      <ProcessesPanel state={state} height={processes} colour={colour} />
      {state.showDetail ? <DetailPanel state={state} height={bottom} /> : <EventsPanel state={state} height={bottom} colour={colour} />}
      {/* One line whatever the width: a wrapped status line would push the panels past the terminal's height. */}
      <Text color={colour && state.status?.error ? "red" : undefined} inverse={state.editingFilter} wrap="truncate-end">{status}</Text>
    </Box>
  );
}
