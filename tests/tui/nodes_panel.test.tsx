/**
 * `gearbox top` over several servers: the nodes panel (the cluster's nodes,
 * de-duplicated, with state, heartbeat age, jobs owned and the watched
 * server's totals) and the totals across servers, rendered with
 * ink-testing-library for given states (80x24 and wide), and live against
 * two nodes on one real PostgreSQL and against two gearmand, which have no
 * `nodes`: the panel hides.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { render } from "ink-testing-library";
import { Screen } from "../../tui/components/screen.tsx";
import { App } from "../../tui/components/app.tsx";
import { Sources } from "../../tui/data/sources.ts";
import { initialState, reduce, type ServerView, type State } from "../../tui/state.ts";
import { Client, createServer } from "../../mod.ts";
import { ManualClock } from "../../src/server/manual_clock.ts";
import { testPostgres } from "../helpers/postgres.ts";
import { HAVE_GEARMAND, type RunningServer, startGearmand } from "../helpers/servers.ts";
import { waitUntil } from "../helpers/wait.ts";
import { nodeRow } from "../helpers/node_rows.ts";

const T = 1_800_000_000_000;
const node = nodeRow;
const CLUSTER = [
  node("node-a", "10.0.0.1:4730", "live", 12),
  node("node-b", "10.0.0.2:4730", "live", 3),
  node("node-c", "10.0.0.3:4730", "dead", 9, 42_000),
];

function gearbox(address: string, rows: ServerView["rows"]): ServerView {
  return { address, up: true, at: T, gearbox: true, rows, nodes: CLUSTER };
}

function cluster(width: number, height: number): State {
  const s = initialState({ readOnly: false, width, height, intervalMs: 1000, now: T });
  return reduce(s, {
    type: "servers",
    now: T,
    servers: [
      gearbox("10.0.0.1:4730", [{ function: "resize", queued: 7, running: 2, workers: 3 }, {
        function: "mail",
        queued: 1,
        running: 0,
        workers: 1,
      }]),
      gearbox("10.0.0.2:4730", [{ function: "resize", queued: 5, running: 1, workers: 2 }]),
    ],
  });
}

function frame(state: State): string[] {
  const { lastFrame, unmount } = render(<Screen state={state} colour={false} />);
  const f = lastFrame()!;
  unmount();
  return f.split("\n");
}

describe("the nodes panel and totals on the screen", () => {
  test("at 80x24: each node once with its state in words, heartbeat age, jobs and its server's totals; function rows and the title sum both servers", () => {
    const lines = frame(cluster(80, 24));
    const f = lines.join("\n");
    for (const line of lines) assert.ok(line.length <= 80, `line of ${line.length}: ${line}`);
    assert.ok(lines.length <= 24, `${lines.length} lines for a 24-line terminal`);
    assert.match(f, /Nodes {2}3 nodes: 2 live, 1 dead, 0 adopted/);
    assert.match(f, /node-a\s+10\.0\.0\.1:4730\s+live\s+hb 1s\s+12 jobs\s*q\/r\/w 8\/2\/4/);
    assert.match(f, /node-b\s+10\.0\.0\.2:4730\s+live\s+hb 1s\s+3 jobs\s*q\/r\/w 5\/1\/2/);
    assert.match(f, /node-c\s+10\.0\.0\.3:4730\s+DEAD\s+hb 42s\s+9 jobs\s*not watched/, "a dead node in words, not only in colour");
    assert.equal(f.match(/node-a/g)!.length, 1, "both servers list the cluster: each node shows once");
    assert.match(f, /2 functions, 13 queued, 3 running, 6 workers over 2 servers/);
    assert.match(f, /resize\s+12\s+3\s+5/, "resize summed over both servers: 12 queued, 3 running, 5 workers");
    for (const title of ["Queues", "Processes", "Events"]) assert.match(f, new RegExp(title));
    assert.match(lines.at(-1)!, /^q quit/);
  });

  test("wide: the totals in words", () => {
    const f = frame(cluster(120, 40)).join("\n");
    assert.match(f, /node-a\s+10\.0\.0\.1:4730\s+live\s+hb 1s\s+12 jobs\s*queued 8 running 2 workers 4/);
  });

  test("servers without `nodes` (gearmand) show no nodes panel, and their queues are still summed", () => {
    let s = initialState({ readOnly: false, width: 80, height: 24, intervalMs: 1000, now: T });
    s = reduce(s, {
      type: "servers",
      now: T,
      servers: ["a:1", "b:1"].map((address) => ({
        address,
        up: true,
        at: T,
        gearbox: false,
        rows: [{ function: "resize", queued: 2, running: 1, workers: 1 }],
      })),
    });
    const f = frame(s).join("\n");
    assert.doesNotMatch(f, /Nodes/);
    assert.match(f, /1 functions, 4 queued, 2 running, 2 workers over 2 servers/);
  });
});

const postgres = await testPostgres();

describe("the live app against two nodes of one PostgreSQL database", { skip: postgres.ok ? undefined : postgres.skip }, () => {
  after(async () => {
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("reads nodes from both, shows each node once with its totals, and sums the function over both", { timeout: 60_000 }, async () => {
    if (!postgres.ok) return;
    const store = await postgres.pg.createDatabase();
    const servers = ["top-a", "top-b"].map((nodeId) =>
      createServer({ port: 0, listen: "127.0.0.1", logLevel: "silent", store, nodeId, clock: new ManualClock() })
    );
    for (const s of servers) await s.start();
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    // The jobs first: top reads `nodes` again only every NODES_EVERY_MS.
    const sources = new Sources(addresses, [], undefined, 2000);
    let app: ReturnType<typeof render> | undefined;
    const f = () => app?.lastFrame() ?? "";
    try {
      for (const [i, address] of addresses.entries()) {
        const client = new Client({ servers: [address] });
        for (let k = 0; k <= i; k++) await client.submitJob("top_fn", `x${k}`, { background: true });
        client.close();
      }
      app = render(<App sources={sources} intervalMs={200} readOnly colour={false} />);
      await waitUntil("both nodes show", () => /Nodes {2}2 nodes: 2 live, 0 dead/.test(f()) || f(), 10_000);
      const port = (i: number) => String(servers[i]!.port);
      await waitUntil(
        "node-a with its job and totals",
        () => new RegExp(`top-a\\s+127\\.0\\.0\\.1:${port(0)}\\s+live.*1 jobs.*(1/0/0|queued 1 running 0 workers 0)`).test(f()) || f(),
        10_000,
      );
      await waitUntil(
        "node-b with its jobs and totals",
        () => new RegExp(`top-b\\s+127\\.0\\.0\\.1:${port(1)}\\s+live.*2 jobs.*(2/0/0|queued 2 running 0 workers 0)`).test(f()) || f(),
        10_000,
      );
      await waitUntil("the function summed", () => /top_fn\s+3\s/.test(f()) && /over 2 servers/.test(f()) || f(), 10_000);
    } finally {
      app?.unmount();
      sources.close();
      for (const s of servers) await s.stop();
    }
  });
});

describe("the live app against two gearmand", { skip: HAVE_GEARMAND ? undefined : "gearmand is not installed" }, () => {
  const running: RunningServer[] = [];
  after(async () => {
    for (const s of running) await s.stop();
  });

  test("shows their queues summed and no nodes panel", { timeout: 60_000 }, async () => {
    running.push(await startGearmand(), await startGearmand());
    for (const s of running) {
      const client = new Client({ servers: [`127.0.0.1:${s.port}`] });
      await client.submitJob("top_plain", "x", { background: true });
      client.close();
    }
    const sources = new Sources(running.map((s) => `127.0.0.1:${s.port}`), [], undefined, 2000);
    const app = render(<App sources={sources} intervalMs={200} readOnly colour={false} />);
    const f = () => app.lastFrame() ?? "";
    try {
      await waitUntil("the queues summed over both", () => /top_plain\s+2\s/.test(f()) && /over 2 servers/.test(f()) || f(), 10_000);
      assert.match(f(), /servers 2\/2 up/);
      assert.doesNotMatch(f(), /Nodes/);
    } finally {
      app.unmount();
      sources.close();
    }
  });
});
