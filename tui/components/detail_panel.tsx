/** Detail of the selected function: its recent failures with messages and its scheduled jobs (gearbox servers). */
import { Box, Text } from "ink";
import { cell, clock } from "../format.ts";
import { selectedFunction, type State } from "../state.ts";

export function DetailPanel({ state, height }: { state: State; height: number }) {
  const fn = selectedFunction(state);
  const d = state.detail?.function === fn ? state.detail : undefined;
  const half = Math.max(Math.floor((height - 4) / 2), 1);
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
    </Box>
  );
}
