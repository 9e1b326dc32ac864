/**
 * What the action keys do, against the drivers and servers: change a job's
 * max processes, kill a process, retry a function's failed jobs. Each
 * returns the line the status bar shows.
 *
 * @module
 */
import type { State } from "../state.ts";
import { selectedFunction, selectedProcessItem } from "../state.ts";
import type { Effect } from "../keymap.ts";
import type { Sources } from "./sources.ts";

export async function perform(effect: Exclude<Effect, "quit">, state: State, sources: Sources): Promise<{ text: string; error: boolean }> {
  try {
    if (effect === "maxUp" || effect === "maxDown") {
      const item = selectedProcessItem(state);
      if (!item) return { text: "select a job in the processes panel (Tab) first", error: true };
      const max = Math.max(item.job.max + (effect === "maxUp" ? 1 : -1), item.job.min);
      const console = sources.consoles.find((c) => c.address === item.driver)!;
      await console.command(`set_max_processes ${item.job.name} ${max}`);
      return { text: `${item.job.name}: max processes ${item.job.max} → ${max}`, error: false };
    }
    if (effect === "kill") {
      const item = selectedProcessItem(state);
      if (item?.kind !== "process") return { text: "select a process (a pid row) in the processes panel first", error: true };
      const console = sources.consoles.find((c) => c.address === item.driver)!;
      await console.command(`kill ${item.process.pid}`);
      return { text: `killed pid ${item.process.pid} of ${item.job.name}`, error: false };
    }
    const fn = selectedFunction(state);
    if (!fn) return { text: "select a function in the queues panel first", error: true };
    let retried = 0;
    for (const server of state.servers.filter((s) => s.up && s.gearbox)) {
      const admin = sources.admins.find((a) => a.server === server.address)!;
      const reply = await admin.command(`job retry all function=${fn}`);
      retried += Number(/^OK (\d+)/.exec(reply.lines[0] ?? "")?.[1] ?? 0);
    }
    return { text: `${fn}: ${retried} failed job${retried === 1 ? "" : "s"} back in the queue`, error: false };
  } catch (e) {
    return { text: (e as Error).message, error: true };
  }
}
