/**
 * The live app: owns the state (the pure reducer), polls the sources every
 * interval without overlapping rounds, maps keys through the pure keymap
 * (every key of a chunk, in order), carries out effects and shows their
 * result in the status line.
 */
import { useApp, useInput, useWindowSize } from "ink";
import { useEffect, useReducer, useRef } from "react";
import { perform } from "../data/actions.ts";
import type { Sources } from "../data/sources.ts";
import type { DriverEvent } from "../../src/client/driver_console.ts";
import { commandFor, type KeyInfo, keysOf } from "../keymap.ts";
import { type Action, initialState, reduce, selectedFunction, type State } from "../state.ts";
import { Screen } from "./screen.tsx";

export interface AppProps {
  sources: Sources;
  intervalMs: number;
  readOnly: boolean;
  colour: boolean;
}

export function App({ sources, intervalMs, readOnly, colour }: AppProps) {
  const { exit } = useApp();
  const size = useWindowSize();
  const [state, dispatch] = useReducer(
    reduce,
    undefined,
    () => initialState({ readOnly, intervalMs, width: size.columns, height: size.rows, now: Date.now() }),
  );
  // Keys can arrive faster than renders: a mirror of the state, updated as each action is sent,
  // lets the next key see the mode the previous one set (e.g. typing right after "/").
  const current = useRef(state);
  const act = (action: Action) => {
    current.current = reduce(current.current, action);
    dispatch(action);
  };

  usePolling(sources, intervalMs, act);

  useEffect(() => {
    if (size.columns !== state.width || size.rows !== state.height) act({ type: "resize", width: size.columns, height: size.rows });
  }, [size.columns, size.rows]);

  useDetail(sources, state, act);

  // One key press; false once it quits, so keys after q in the same chunk do nothing.
  const press = (input: string, key: KeyInfo): boolean => {
    const s = current.current;
    const cmd = commandFor(input, key, { editingFilter: s.editingFilter, help: s.help, readOnly: s.readOnly });
    if (!cmd) return true;
    if (cmd.kind === "action") {
      act(cmd.action);
      return true;
    }
    if (cmd.kind === "refused") {
      act({ type: "status", text: cmd.reason, error: true, now: Date.now() });
      return true;
    }
    if (cmd.effect === "quit") {
      sources.close();
      exit();
      return false;
    }
    act({ type: "status", text: "…", error: false, now: Date.now() });
    void perform(cmd.effect, s, sources).then((r) => act({ type: "status", ...r, now: Date.now() }));
    return true;
  };

  // Keys that arrive in one read (paste, key repeat over ssh) come as one input: each acts, in order.
  useInput((input, key) => {
    for (const k of keysOf(input, key)) if (!press(k.input, k.key)) return;
  });

  return <Screen state={state} colour={colour} />;
}

/** Polls the servers and drivers every interval, one round at a time; each round is one batch of actions. */
function usePolling(sources: Sources, intervalMs: number, act: (action: Action) => void): void {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const round = async () => {
      const events: { driver: string; events: DriverEvent[] }[] = [];
      const [servers, drivers] = await Promise.all([
        sources.servers(Date.now),
        sources.drivers(Date.now, (driver, list) => events.push({ driver, events: list })),
      ]);
      if (stopped) return;
      // One synchronous batch: React draws the round once, not once per source.
      const now = Date.now();
      act({ type: "servers", servers, now });
      for (const e of events) act({ type: "events", ...e });
      act({ type: "drivers", drivers, now });
      timer = setTimeout(() => void round(), intervalMs);
    };
    void round();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [sources, intervalMs]);
}

/** While the detail panel is open, fetches the selected function's detail again after each poll. */
function useDetail(sources: Sources, state: State, act: (action: Action) => void): void {
  const fn = selectedFunction(state);
  useEffect(() => {
    if (!state.showDetail || fn === undefined) return;
    let live = true;
    void sources.detail(fn).then((detail) => live && act({ type: "detail", detail }));
    return () => {
      live = false;
    };
  }, [state.showDetail, fn, state.servers]);
}
