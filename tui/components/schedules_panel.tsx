/**
 * The schedules panel: gearbox's recurring schedules (`schedule list`,
 * docs/schedules.md): status, when each runs next and ran last, what became
 * of its last job, and its counts. Not focusable; shown only when a watched
 * server has schedules. A paused or orphaned one is said in words.
 */
import { Box, Text } from "ink";
import type { ScheduleInfo } from "../../src/client/admin_client.ts";
import { age, cell } from "../format.ts";
import type { State } from "../state.ts";

export function SchedulesPanel({ state, schedules, height }: { state: State; schedules: ScheduleInfo[]; height: number }) {
  const body = Math.max(height - 3, 1);
  const active = schedules.filter((s) => s.status === "active").length;
  const title = `Schedules  ${schedules.length}: ${active} active, ${schedules.length - active} paused or orphaned`;
  const shown = schedules.length > body ? schedules.slice(0, body - 1) : schedules;
  const wide = state.width >= 100;
  // Fixed columns: status 7+1, next 12+1, last 10+1, outcome 10+1; counts 22 when wide; the name takes the rest.
  const nameW = Math.max(Math.min(state.width - 2 - 43 - (wide ? 22 : 0), 28), 8);
  return (
    <Box flexDirection="column" borderStyle="single" height={height}>
      <Text bold>{cell(title, state.width - 2)}</Text>
      {shown.map((s) => {
        const next = s.status === "active" && s.nextRun > 0 ? `in ${age(s.nextRun - state.now)}` : "-";
        const last = s.lastRun > 0 ? `${age(state.now - s.lastRun)} ago` : "never";
        const counts = wide ? ` run ${s.fired} miss ${s.missed} skip ${s.skipped}` : "";
        const line = cell(s.name, nameW) + " " + cell(s.status, 7) + " " + cell(`next ${next}`, 12) + " " + cell(last, 10) + " " +
          cell(s.lastOutcome || "-", 10) + counts;
        return <Text key={s.name}>{cell(line, state.width - 2)}</Text>;
      })}
      {shown.length < schedules.length && <Text dimColor>{`… ${schedules.length - shown.length} more`}</Text>}
    </Box>
  );
}
