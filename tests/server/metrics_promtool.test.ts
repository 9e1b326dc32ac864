/**
 * Prometheus' own checker on what gearbox serves and ships: `promtool check
 * metrics` on a `/metrics` page with every family filled (escaped label
 * values, histograms, counters), `promtool check rules` on the example
 * alert rules, and every metric the example dashboard and alert rules use
 * read from serve's and drive's definitions (SERVE_METRICS, DRIVE_METRICS), so renaming a metric breaks
 * this test and not an operator's dashboard. promtool comes from Debian's
 * `prometheus` package (.ci/run installs it); without it those two tests
 * skip and say why.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, ManualClock, MemoryStore } from "../../mod.ts";
import { MetricsEndpoint } from "../../src/server/metrics_endpoint.ts";
import { SERVE_METRICS } from "../../src/server/server_metrics.ts";
import { DRIVE_METRICS } from "../../src/driver/drive_metrics.ts";
import { sampleNames } from "../../src/metrics/registry.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { RawConn } from "../helpers/raw_conn.ts";
import { ROOT } from "../helpers/servers.ts";
import { waitUntil } from "../helpers/wait.ts";

const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => existsSync(p));
const NO_PROMTOOL = PROMTOOL ? false : "promtool is not installed here (Debian package prometheus; CI installs it)";
const ALERTS = `${ROOT}scripts/examples/prometheus_alerts.yml`;
const DASHBOARD = `${ROOT}scripts/examples/grafana_dashboard.json`;

/** A page after a workload that fills every family: odd function names, completions, failures, a scheduled job. */
async function busyPage(): Promise<string> {
  const clock = new ManualClock(1_000_000);
  const server = createServer({ port: 0, logLevel: "silent", storeInstance: new MemoryStore(), clock });
  const endpoint = await MetricsEndpoint.start(server, { host: "127.0.0.1", port: 0, exposed: false });
  await server.start();
  try {
    const c = await RawConn.connect(server.port);
    for (const fn of ["resize", 'say"hi\\there', "f.ü"]) {
      c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, "", "x");
      c.sendPacket(Cmd.SUBMIT_JOB_BG, fn, "", "y");
      await c.expectPacket(Cmd.JOB_CREATED);
      await c.expectPacket(Cmd.JOB_CREATED);
    }
    c.sendPacket(Cmd.SUBMIT_JOB_EPOCH, "later", "", String(Math.floor(clock.now() / 1000) + 3600), "z");
    await c.expectPacket(Cmd.JOB_CREATED);
    const w = await RawConn.connect(server.port);
    w.sendPacket(Cmd.CAN_DO, "resize");
    clock.advance(1200);
    w.sendPacket(Cmd.GRAB_JOB);
    w.sendPacket(Cmd.WORK_COMPLETE, (await w.expectPacket(Cmd.JOB_ASSIGN)).args[0]!, "ok");
    w.sendPacket(Cmd.GRAB_JOB);
    w.sendPacket(Cmd.WORK_FAIL, (await w.expectPacket(Cmd.JOB_ASSIGN)).args[0]!);
    await waitUntil("the failure is counted", () => server.core.view.functions.get("resize")?.failed === 1, 2000);
    const page = await (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`)).text();
    c.close();
    w.close();
    return page;
  } finally {
    await server.stop();
    await endpoint.close();
  }
}

/** Metric names an expression text uses: gearbox_* and process_* words. */
function usedMetrics(text: string): Set<string> {
  return new Set(text.match(/\b(?:gearbox|process)_[a-z_]+\b/g) ?? []);
}

describe("metrics checked by Prometheus' tools", () => {
  test("promtool check metrics passes on a /metrics page with every family filled", { skip: NO_PROMTOOL }, async () => {
    const page = await busyPage();
    for (const d of SERVE_METRICS) assert.ok(page.includes(`# TYPE ${d.name} ${d.type}`), `${d.name} is on the page`);
    assert.ok(page.includes('gearbox_jobs_queued{function="say\\"hi\\\\there",priority="normal"} 2'), page);
    assert.ok(page.includes('gearbox_jobs_scheduled{function="later"} 1'));
    const r = spawnSync(PROMTOOL!, ["check", "metrics"], { input: page, encoding: "utf8" });
    assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}\n--- page:\n${page}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), "", "no lint warnings");
  });

  test("promtool check rules accepts the example alert rules", { skip: NO_PROMTOOL }, () => {
    const r = spawnSync(PROMTOOL!, ["check", "rules", ALERTS], { encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS: 7 rules found/);
  });

  test("every metric the example dashboard and alert rules use is one gearbox serve or gearbox drive defines", () => {
    const defined = new Set([...sampleNames(SERVE_METRICS), ...sampleNames(DRIVE_METRICS)]);
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    const sources: [string, string][] = [["grafana_dashboard.json", exprs], ["prometheus_alerts.yml", readFileSync(ALERTS, "utf8")]];
    for (const [file, text] of sources) {
      const used = [...usedMetrics(text)];
      assert.ok(used.length >= 5, `${file} uses gearbox metrics`);
      const unknown = used.filter((n) => !defined.has(n));
      assert.deepEqual(unknown, [], `${file} uses metrics neither serve nor drive defines`);
      assert.ok(used.some((n) => n.startsWith("gearbox_drive_")), `${file} shows the driver too`);
    }
    assert.ok(usedMetrics(exprs).has("gearbox_oldest_waiting_seconds"));
  });
});
