/** The queues panel: one row per function summed over every server, the totals in its title, down servers as such. */
import { Box, Text } from "ink";
import { age, cell, rate, sparkline } from "../format.ts";
import { queueRows, stale, type State } from "../state.ts";
import { visibleWindow } from "./visible_window.ts";

export function QueuesPanel({ state, height, colour }: { state: State; height: number; colour: boolean }) {
  const rows = queueRows(state);
  const wide = state.width >= 100;
  const nameW = Math.max(state.width - (wide ? 78 : 44), 12);
  const head = cell("FUNCTION", nameW) + cell("QUEUED", 8, "right") + (wide ? cell("H/N/L", 14, "right") : "") + cell("RUN", 6, "right") +
    cell("WRK", 5, "right") + cell("RATE/s", 8, "right") + (wide ? " " + cell("THROUGHPUT", 12) : "") + cell("OLDEST", 8, "right") +
    (wide ? cell("SCHED", 7, "right") : "") + cell("DEAD", 6, "right");
  const down = state.servers.filter((s) => !s.up);
  const staleNote = state.servers.some((s) => s.up && stale(state, s.at));
  // Inside the border: title, column heads, down servers, the stale note, then rows.
  const body = Math.max(height - 4 - down.length - (staleNote ? 1 : 0), 1);
  const { from, to } = visibleWindow(rows.length, state.selected.queues, body);
  const totals = rows.reduce((t, r) => ({ queued: t.queued + r.queued, running: t.running + r.running, workers: t.workers + r.workers }), {
    queued: 0,
    running: 0,
    workers: 0,
  });
  const upServers = state.servers.filter((s) => s.up).length;
  const focused = state.panel === "queues";
  return (
    <Box flexDirection="column" borderStyle="single" borderColor={colour && focused ? "cyan" : undefined} height={height}>
      <Text bold wrap="truncate-end">
        {`Queues${
          focused ? " *" : ""
        }  ${rows.length} functions, ${totals.queued} queued, ${totals.running} running, ${totals.workers} workers${
          upServers > 1 ? ` over ${upServers} servers` : ""
        }${state.filter ? `  filter: ${state.filter}` : ""}  sort: ${state.sort}`}
      </Text>
      <Text dimColor>{head}</Text>
      {down.map((s) => <Text key={s.address} color={colour ? "red" : undefined}>{`${s.address}: DOWN (${s.error ?? "no answer"})`}</Text>)}
      {rows.slice(from, to).map((r, i) => {
        const selected = focused && from + i === state.selected.queues;
        const hnl = r.high === undefined ? "-" : `${r.high}/${r.normal}/${r.low}`;
        const line = cell(r.function, nameW) + cell(r.queued, 8, "right") + (wide ? cell(hnl, 14, "right") : "") +
          cell(r.running, 6, "right") +
          cell(r.workers, 5, "right") + cell(rate(r.rate), 8, "right") + (wide ? " " + sparkline(r.samples, 12) : "") +
          cell(r.oldestAgeMs === undefined ? "-" : age(r.oldestAgeMs), 8, "right") + (wide ? cell(r.scheduled, 7, "right") : "") +
          cell(r.dead, 6, "right");
        const warn = r.queued > 0 && r.workers === 0;
        return (
          <Text key={r.function} inverse={selected} color={colour ? ((r.dead ?? 0) > 0 || warn ? "yellow" : undefined) : undefined}>
            {line}
          </Text>
        );
      })}
      {staleNote && <Text color={colour ? "yellow" : undefined}>(stale: servers did not answer the last refreshes)</Text>}
    </Box>
  );
}
