/** The events panel: the drivers' scaling decisions and process starts and stops, newest last. */
import { Box, Text } from "ink";
import { cell, clock } from "../format.ts";
import type { State } from "../state.ts";
import { visibleWindow } from "./visible_window.ts";

const COLOURS: Record<string, string> = { died: "yellow", "crash-loop": "red", timeout: "red", scale: "cyan" };

export function EventsPanel({ state, height, colour }: { state: State; height: number; colour: boolean }) {
  const focused = state.panel === "events";
  const body = Math.max(height - 3, 1);
  const selected = focused ? state.selected.events : state.events.length - 1;
  const { from, to } = visibleWindow(state.events.length, selected, body);
  return (
    <Box flexDirection="column" borderStyle="single" borderColor={colour && focused ? "cyan" : undefined} height={height}>
      <Text bold>{`Events${focused ? " *" : ""}`}</Text>
      {state.events.length === 0 && <Text dimColor>no events yet</Text>}
      {state.events.slice(from, to).map((e, i) => (
        <Text
          key={`${e.driver}/${e.seq}`}
          inverse={focused && from + i === state.selected.events}
          color={colour ? COLOURS[e.kind] : undefined}
        >
          {cell(`${clock(e.at)} ${cell(e.kind, 10)} ${cell(e.job, 20)} ${e.text}`, state.width - 2)}
        </Text>
      ))}
    </Box>
  );
}
