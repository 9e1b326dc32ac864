/**
 * `gearbox top`'s components rendered with ink-testing-library: the screen
 * for given states (what shows, what is highlighted in words when colour is
 * off, how it fits a narrow terminal), and the live App against a real
 * gearbox server, driven by keys.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { render } from "ink-testing-library";
import { Screen } from "../../tui/components/screen.tsx";
import { App } from "../../tui/components/app.tsx";
import { Sources } from "../../tui/data/sources.ts";
import { initialState, reduce, type State } from "../../tui/state.ts";
import type { DriverJob } from "../../src/client/driver_console.ts";
import { AdminClient, Client, Worker } from "../../mod.ts";
import { type RunningServer, startGearbox } from "../helpers/servers.ts";
import { waitUntil } from "../helpers/wait.ts";

const T = 1_800_000_000_000;

function job(extra: Partial<DriverJob>): DriverJob {
  return {
    name: "resize",
    functions: ["resize"],
    kind: "module",
    min: 1,
    max: 4,
    current: 2,
    state: "ok",
    crashes: 0,
    waiting: 0,
    lastrun: T - 1000,
    lasterror: 0,
    lasterror_msg: "",
    processes: [
      { pid: 4242, state: "busy", started: T - 60_000, uptime_ms: 60_000, jobs_done: 7, job: "H:x:1", rss_bytes: 12 * 1024 * 1024 },
      { pid: 4343, state: "idle", started: T - 5_000, uptime_ms: 5_000, jobs_done: 0, job: null, rss_bytes: null },
    ],
    ...extra,
  };
}

function filled(width = 120, height = 40): State {
  let s = initialState({ readOnly: false, width, height, intervalMs: 1000, now: T });
  s = reduce(s, {
    type: "servers",
    now: T,
    servers: [
      {
        address: "127.0.0.1:4730",
        up: true,
        at: T,
        gearbox: true,
        rows: [
          {
            function: "resize",
            queued: 12,
            running: 2,
            workers: 2,
            high: 2,
            normal: 10,
            low: 0,
            scheduled: 0,
            completed: 100,
            failed: 1,
            dead: 1,
            oldestQueuedAt: T - 65_000,
          },
          {
            function: "mail",
            queued: 0,
            running: 0,
            workers: 1,
            high: 0,
            normal: 0,
            low: 0,
            scheduled: 3,
            completed: 5,
            failed: 0,
            dead: 0,
            oldestQueuedAt: 0,
          },
        ],
      },
      { address: "10.0.0.9:4730", up: false, at: T, gearbox: false, error: "connect ECONNREFUSED", rows: [] },
    ],
  });
  s = reduce(s, {
    type: "drivers",
    now: T,
    drivers: [{
      address: "127.0.0.1:47300",
      up: true,
      at: T,
      jobs: [
        job({}),
        job({
          name: "thumbs",
          functions: ["thumbs"],
          state: "crash-loop",
          crashes: 6,
          current: 0,
          processes: [],
          lasterror: T - 500,
          lasterror_msg: "process 99 died (exit code 1) after 0.0s",
        }),
      ],
    }],
  });
  return reduce(s, {
    type: "events",
    driver: "127.0.0.1:47300",
    events: [{ seq: 1, at: T, job: "resize", kind: "scale", text: "jobs waiting: 12 waiting; starting 2" }],
  });
}

describe("the screen", () => {
  test("shows queues with priorities, age and dead counts, a down server as DOWN, processes with pids and memory, and events", () => {
    const { lastFrame, unmount } = render(<Screen state={filled()} colour={false} />);
    const f = lastFrame()!;
    unmount();
    assert.match(f, /servers 1\/2 up/);
    assert.match(f, /resize\s+12\s+2\/10\/0\s+2\s+2/);
    assert.match(f, /1m\s+0\s+1/, "oldest 1m, scheduled 0, dead 1");
    assert.match(f, /10\.0\.0\.9:4730: DOWN \(connect ECONNREFUSED\)/);
    assert.match(f, /resize\s+1\s+4\s+2\s+ok/);
    assert.match(f, /pid 4242\s+busy\s+up 1m\s+12M\s+7 jobs\s+H:x:1/);
    assert.match(f, /pid 4343\s+idle\s+up 5s\s+-\s+0 jobs/);
    assert.match(f, /thumbs.*CRASH-LOOP!.*process 99 died/, "a crash loop is marked in words, not only in colour");
    assert.match(f, /scale\s+resize\s+jobs waiting: 12 waiting; starting 2/);
    assert.match(f, /q quit/);
  });

  test("fits a narrow terminal by dropping columns and cutting the key hints to one line", () => {
    const { lastFrame, unmount } = render(<Screen state={filled(70, 30)} colour={false} />);
    const f = lastFrame()!;
    unmount();
    for (const line of f.split("\n")) assert.ok(line.length <= 70, `line of ${line.length}: ${line}`);
    // Nothing wraps onto an extra line: the key hints are cut, not folded, so the screen keeps its height.
    assert.ok(f.split("\n").length <= 30, `${f.split("\n").length} lines for a 30-line terminal`);
    assert.match(f.split("\n").at(-1)!, /^q quit .*…?$/);
    assert.doesNotMatch(f, /H\/N\/L/);
    assert.match(f, /resize/);
  });

  test("the help overlay lists the keys, and read-only says what is disabled", () => {
    const s = { ...reduce(filled(), { type: "help" }), readOnly: true };
    const { lastFrame, unmount } = render(<Screen state={s} colour={false} />);
    const f = lastFrame()!;
    unmount();
    assert.match(f, /K \(shift\)\s+kill the selected process/);
    assert.match(f, /--read-only: \+, -, K and R are disabled/);
  });

  test("the detail shows the last runs of the driver jobs serving the function: pid, outcome, exit status, peak memory, last output", () => {
    let s = reduce(reduce(filled(), { type: "move", delta: 1 }), { type: "toggleDetail" });
    s = reduce(s, {
      type: "detail",
      detail: {
        function: "resize",
        failures: [],
        scheduled: [],
        runs: [{
          job: "resize",
          handle: "H:x:9",
          function: "resize",
          pid: 4242,
          start: T - 3000,
          end: T - 2000,
          outcome: "fail",
          exit_status: 3,
          signal: null,
          peak_rss_bytes: 108 * 1024 * 1024,
          message: "cannot process",
          output: [{ stream: "stdout", line: "starting" }, { stream: "stderr", line: "allocated 52428800 bytes" }, {
            stream: "stdout",
            line: "giving up",
          }],
        }],
      },
    });
    const { lastFrame, unmount } = render(<Screen state={s} colour={false} />);
    const f = lastFrame()!;
    unmount();
    assert.match(f, /Detail: resize/);
    assert.match(f, /Last runs \(1\)/);
    assert.match(f, /H:x:9 pid 4242 fail exit 3 peak 108M allocated 52428800 bytes \| giving up/);
  });

  test("an action's result shows in the status line", () => {
    const s = reduce(filled(), { type: "status", text: "resize: max processes 4 → 5", error: false, now: T });
    const { lastFrame, unmount } = render(<Screen state={s} colour={false} />);
    const f = lastFrame()!;
    unmount();
    assert.match(f.split("\n").at(-1)!, /resize: max processes 4 → 5/);
  });
});

describe("the live app against a gearbox server", () => {
  let server: RunningServer;
  before(async () => {
    server = await startGearbox();
  });
  after(() => server?.stop());

  test("polls the server, filters with / and refuses destructive keys in read-only", async () => {
    const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    await client.submitJob("app_alpha", "x", { background: true });
    await client.submitJob("app_beta", "y", { background: true });
    client.close();
    const sources = new Sources([`127.0.0.1:${server.port}`], [], undefined, 2000);
    const { lastFrame, stdin, unmount } = render(<App sources={sources} intervalMs={200} readOnly colour={false} />);
    try {
      await waitUntil("both functions show", () => /app_alpha/.test(lastFrame() ?? "") && /app_beta/.test(lastFrame() ?? ""), 5000);
      stdin.write("/");
      stdin.write("beta");
      stdin.write("\r");
      await waitUntil(
        "the filter applies",
        () => (!/app_alpha/.test(lastFrame() ?? "") && /filter: beta/.test(lastFrame() ?? "")) || (lastFrame() ?? ""),
        5000,
      );
      stdin.write("K");
      await waitUntil("K is refused", () => /read-only: K is disabled/.test(lastFrame() ?? ""), 5000);
    } finally {
      unmount();
      sources.close();
    }
  });
});

describe("the live app with keys that arrive together", () => {
  let server: RunningServer;
  before(async () => {
    server = await startGearbox();
  });
  after(() => server?.stop());

  // As a paste or key repeat over ssh delivers them: several keys in one stdin write.
  test("jj in one write moves the selection two rows, and an arrow with letters in one write moves once per key", async () => {
    const client = new Client({ servers: [`127.0.0.1:${server.port}`] });
    for (const fn of ["multi_a", "multi_b", "multi_c", "multi_d", "multi_e"]) await client.submitJob(fn, "x", { background: true });
    client.close();
    const sources = new Sources([`127.0.0.1:${server.port}`], [], undefined, 2000);
    const { lastFrame, stdin, unmount } = render(<App sources={sources} intervalMs={200} readOnly colour={false} />);
    const frame = () => lastFrame() ?? "";
    try {
      await waitUntil("the functions show", () => /multi_e/.test(frame()) || frame(), 15_000);
      // Each write is awaited before the next: the test stdin keeps one pending write, so two
      // writes in a row on a loaded machine would test the stub, not the app.
      // Enter opens the detail of the selected function: the row the keys moved to, by name.
      stdin.write("jj\r");
      await waitUntil("two rows down: multi_c", () => /Detail: multi_c /.test(frame()) || frame(), 15_000);
      stdin.write("\r");
      await waitUntil("the detail closed", () => !/Detail: /.test(frame()) || frame(), 15_000);
      stdin.write("kk\x1b[Bjj\r");
      await waitUntil(
        "back up two, then three down and Enter, all from one write: multi_d",
        () => /Detail: multi_d /.test(frame()) || frame(),
        15_000,
      );
    } finally {
      unmount();
      sources.close();
    }
  });
});

describe("the live app's detail and retry", () => {
  let server: RunningServer;
  before(async () => {
    server = await startGearbox();
  });
  after(() => server?.stop());

  test("Enter shows the selected function's failures with messages and its scheduled jobs; R puts failed jobs back", async () => {
    const addr = `127.0.0.1:${server.port}`;
    const client = new Client({ servers: [addr] });
    const worker = new Worker({ servers: [addr] });
    worker.register("detail_fn", () => {
      throw new Error("thumbnail service said 503");
    });
    void worker.work();
    await client.submitJob("detail_fn", "a", { background: true });
    const later = await client.submitJob("detail_fn", "b", { runAt: new Date(Date.now() + 3_600_000) });
    const admin = new AdminClient({ server: addr });
    await waitUntil(
      "the job failed into the dead set",
      async () => (await admin.functions()).find((f) => f.function === "detail_fn")?.dead === 1,
      5000,
    );
    admin.close();
    await worker.stop();
    client.close();
    const sources = new Sources([addr], [], undefined, 2000);
    const { lastFrame, stdin, unmount } = render(<App sources={sources} intervalMs={200} readOnly={false} colour={false} />);
    try {
      await waitUntil(
        "the function shows with a dead job",
        () => /detail_fn\s+1\s.*\s1\s*│/.test(lastFrame() ?? "") || (lastFrame() ?? ""),
        5000,
      );
      stdin.write("\r");
      await waitUntil(
        "the detail shows",
        () => /thumbnail service said 503/.test(lastFrame() ?? "") && lastFrame()!.includes(later.handle!) || (lastFrame() ?? ""),
        5000,
      );
      assert.match(lastFrame()!, /Recent failures \(1\)/);
      assert.match(lastFrame()!, /Scheduled \(1\)/);
      stdin.write("R");
      await waitUntil(
        "R reports the retry",
        () => /detail_fn: 1 failed job back in the queue/.test(lastFrame() ?? "") || (lastFrame() ?? ""),
        5000,
      );
    } finally {
      unmount();
      sources.close();
    }
  });
});

describe("the screen with many functions", () => {
  test("keeps every panel's title and the status line on screen when rows do not fit", () => {
    let s = initialState({ readOnly: false, width: 120, height: 30, intervalMs: 1000, now: T });
    s = reduce(s, {
      type: "servers",
      now: T,
      servers: [{
        address: "a:1",
        up: true,
        at: T,
        gearbox: true,
        rows: Array.from({ length: 500 }, (_, i) => ({ function: `fn_${String(i).padStart(3, "0")}`, queued: 1, running: 0, workers: 0 })),
      }],
    });
    s = reduce(s, { type: "move", delta: 250 });
    const { lastFrame, unmount } = render(<Screen state={s} colour={false} />);
    const f = lastFrame()!;
    unmount();
    assert.match(f, /Queues \*\s+500 functions, 500 queued/);
    assert.match(f, /Processes/);
    assert.match(f, /Events/);
    assert.match(f, /fn_250/, "the selection stays in view");
    assert.match(f.split("\n").at(-1)!, /q quit/);
    assert.ok(f.split("\n").length <= 30, `${f.split("\n").length} lines for a 30-line terminal`);
  });
});
