/**
 * `gearbox top`'s schedules panel (tui/components/schedules_panel.tsx):
 * rendered with ink-testing-library for a given state (80x24 and wide), and
 * read live by the TUI's sources from a real server with a schedule.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { render } from "ink-testing-library";
import { Screen } from "../../tui/components/screen.tsx";
import { Sources } from "../../tui/data/sources.ts";
import { initialState, reduce, type State } from "../../tui/state.ts";
import { createServer, Logger, ManualClock, MemoryStore } from "../../mod.ts";
import type { ScheduleInfo } from "../../src/client/admin_client.ts";
import type { ScheduleConfig } from "../../src/config/serve_schedules.ts";

const T = 1_800_000_000_000;

function info(name: string, status: string, nextIn: number, lastAgo: number, outcome: string): ScheduleInfo {
  return {
    name,
    function: "fn",
    timing: "every 60000ms UTC",
    status,
    nextRun: status === "active" ? T + nextIn : 0,
    lastRun: lastAgo < 0 ? 0 : T - lastAgo,
    lastHandle: lastAgo < 0 ? "" : "H:x:1",
    lastOutcome: outcome,
    fired: 4,
    missed: 1,
    skipped: 2,
  };
}

function withSchedules(width: number, height: number, schedules: ScheduleInfo[] | undefined): State {
  const s = initialState({ readOnly: false, width, height, intervalMs: 1000, now: T });
  return reduce(s, {
    type: "servers",
    now: T,
    servers: [{ address: "a:1", up: true, at: T, gearbox: true, rows: [{ function: "fn", queued: 1, running: 0, workers: 1 }], schedules }],
  });
}

function frame(state: State): string {
  const { lastFrame, unmount } = render(<Screen state={state} colour={false} />);
  const f = lastFrame()!;
  unmount();
  return f;
}

describe("the schedules panel", () => {
  test("at 80x24: each schedule with its status, next and last run and its last job's outcome, within the terminal", () => {
    const f = frame(withSchedules(80, 24, [info("nightly", "active", 30_000, 10_000, "queued"), info("old", "orphan", 0, -1, "")]));
    const lines = f.split("\n");
    for (const line of lines) assert.ok(line.length <= 80, `line of ${line.length}: ${line}`);
    assert.ok(lines.length <= 24, `${lines.length} lines for a 24-line terminal`);
    assert.match(f, /Schedules {2}2: 1 active, 1 paused or orphaned/);
    assert.match(f, /nightly\s+active\s+next in 30s\s+10s ago\s+queued/);
    assert.match(f, /old\s+orphan\s+next -\s+never/);
    for (const title of ["Queues", "Processes", "Events"]) assert.match(f, new RegExp(title));
  });

  test("wide: the counts too; and no panel where no server has schedules", () => {
    assert.match(frame(withSchedules(120, 40, [info("nightly", "active", 5000, 1000, "running")])), /run 4 miss 1 skip 2/);
    assert.doesNotMatch(frame(withSchedules(80, 24, undefined)), /Schedules/);
  });

  test("the sources read a live server's schedules: last run, its handle and the next run", async () => {
    const clock = new ManualClock(T);
    const server = createServer({
      port: 0,
      listen: "127.0.0.1",
      storeInstance: new MemoryStore(),
      clock,
      logger: new Logger({ level: "error", format: "json", write: () => {} }),
      schedules: [{ name: "beat", function: "beat_fn", every: "10s" } as unknown as ScheduleConfig],
    });
    await server.start();
    try {
      await new Promise((r) => setTimeout(r, 20));
      clock.advance(10_000);
      await new Promise((r) => setTimeout(r, 20));
      const sources = new Sources([`127.0.0.1:${server.port}`], [], undefined, 2000);
      const [view] = await sources.servers(() => clock.now());
      const [s] = view!.schedules!;
      assert.equal(s!.name, "beat");
      assert.equal(s!.lastRun, T + 10_000);
      assert.equal(s!.nextRun, T + 20_000);
      assert.match(s!.lastHandle, /^H:/);
      assert.equal(s!.lastOutcome, "queued");
      for (const a of sources.admins) a.close();
    } finally {
      await server.stop();
    }
  });
});
