/**
 * Detail of the selected function: its recent failures with messages and its scheduled jobs
 * (gearbox servers), and the last runs of the driver jobs serving it (pid, outcome, exit
 * status, peak memory, last output lines).
 */
import { Box, Text } from "ink";
import { bytes, cell, clock } from "../format.ts";
import type { DriverRun } from "../../src/client/driver_console.ts";
import { selectedFunction, type State } from "../state.ts";

export function DetailPanel({ state, height }: { state: State; height: number }) {
  const fn = selectedFunction(state);
  const d = state.detail?.function === fn ? state.detail : undefined;
  const runs = d?.runs ?? [];
  const third = Math.max(Math.floor((height - 5) / 3), 1);
  const half = runs.length > 0 ? third : Math.max(Math.floor((height - 4) / 2), 1);
  return (
    <Box flexDirection="column" borderStyle="single" height={height}>
      <Text bold>{`Detail: ${fn ?? "(no function selected)"}  (Enter closes)`}</Text>
      {!d && <Text dimColor>loading…</Text>}
      {d?.error && <Text>{`(${d.error})`}</Text>}
      {d && <Text dimColor>{`Recent failures (${d.failures.length})`}</Text>}
      {d?.failures.slice(0, half).map((f) => <Text key={f.handle}>{cell(`${clock(f.at)} ${f.handle} ${f.message}`, state.width - 2)}
      </Text>)}
      {d && <Text dimColor>{`Scheduled (${d.scheduled.length})`}</Text>}
      {d?.scheduled.slice(0, half).map((s) => (
        <Text key={s.handle}>
          {cell(`${new Date(s.runAt).toISOString().replace("T", " ").slice(0, 19)}Z ${s.handle}`, state.width - 2)}
        </Text>
      ))}
      {runs.length > 0 && <Text dimColor>{`Last runs (${runs.length}): pid, outcome, exit, peak memory, last output`}</Text>}
      {runs.slice(0, third).map((r) => <Text key={`${r.handle}@${r.start}`}>{cell(runLine(r), state.width - 2)}</Text>)}
    </Box>
  );
}

/** One run in one line: when, which process, how it ended, its peak memory and its last output lines. */
function runLine(r: DriverRun): string {
  const exit = r.signal ?? (r.exit_status === null ? "-" : `exit ${r.exit_status}`);
  const out = r.output.slice(-2).map((o) => o.line).join(" | ") || "-";
  return `${clock(r.start)} ${r.handle} pid ${r.pid} ${r.outcome} ${exit} peak ${bytes(r.peak_rss_bytes)} ${out}`;
}
