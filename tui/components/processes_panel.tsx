/** The processes panel: each driver job (min/max/current, state, lastrun, lasterror) and its pids. */
import { Box, Text } from "ink";
import { age, bytes, cell, clock } from "../format.ts";
import { processItems, stale, type State } from "../state.ts";
import { visibleWindow } from "./visible_window.ts";

export function ProcessesPanel({ state, height, colour }: { state: State; height: number; colour: boolean }) {
  const items = processItems(state);
  const focused = state.panel === "processes";
  const down = state.drivers.filter((d) => !d.up);
  const staleNote = state.drivers.some((d) => d.up && stale(state, d.at));
  const body = Math.max(height - 4 - down.length - (staleNote ? 1 : 0), 1);
  const { from, to } = visibleWindow(items.length, state.selected.processes, body);
  const nameW = Math.max(Math.min(state.width - 60, 40), 12);
  const head = cell("JOB / PID", nameW) + cell("MIN", 5, "right") + cell("MAX", 5, "right") + cell("CUR", 5, "right") + "  " +
    cell("STATE", 11) +
    cell("LASTRUN", 9) + "LASTERROR";
  return (
    <Box flexDirection="column" borderStyle="single" borderColor={colour && focused ? "cyan" : undefined} height={height}>
      <Text bold>
        {`Processes${focused ? " *" : ""}  ${
          state.drivers.length === 0
            ? "no driver consoles given (--console)"
            : `${state.drivers.filter((d) => d.up).length}/${state.drivers.length} drivers`
        }`}
      </Text>
      <Text dimColor>{head}</Text>
      {down.map((d) => (
        <Text key={d.address} color={colour ? "red" : undefined}>{`driver ${d.address}: DOWN (${d.error ?? "no answer"})`}</Text>
      ))}
      {items.slice(from, to).map((item, i) => {
        const selected = focused && from + i === state.selected.processes;
        if (item.kind === "job") {
          const j = item.job;
          const looping = j.state === "crash-loop";
          const err = j.lasterror > 0 ? `${clock(j.lasterror)} ${j.lasterror_msg}` : "-";
          const line = cell(j.name, nameW) + cell(j.min, 5, "right") + cell(j.max, 5, "right") + cell(j.current, 5, "right") + "  " +
            cell(looping ? "CRASH-LOOP!" : j.state, 11) + cell(clock(j.lastrun), 9) + err;
          return (
            <Text
              key={`${item.driver}/${j.name}`}
              inverse={selected}
              bold
              color={colour ? (looping ? "red" : j.state === "restarting" ? "yellow" : undefined) : undefined}
            >
              {cell(line, state.width - 2)}
            </Text>
          );
        }
        const p = item.process;
        const line = "  " + cell(`pid ${p.pid}`, nameW - 2) + "  " + cell(p.state, 9) + cell(`up ${age(p.uptime_ms)}`, 9) +
          cell(bytes(p.rss_bytes), 7) +
          cell(`${p.jobs_done} jobs`, 10) + (p.job ?? "");
        return <Text key={`${item.driver}/${p.pid}`} inverse={selected}>{cell(line, state.width - 2)}</Text>;
      })}
      {staleNote && <Text color={colour ? "yellow" : undefined}>(stale: drivers did not answer the last refreshes)</Text>}
    </Box>
  );
}
