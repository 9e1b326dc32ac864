/**
 * The Prometheus text format as src/metrics/ writes it: escaping, numbers,
 * histograms (cumulative buckets, +Inf, _sum, _count) and the registry's
 * refusals, as tables of input and exact output.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { escapeHelp, escapeLabelValue, formatValue, labelText, withLabel } from "../../src/metrics/exposition.ts";
import { Histogram, histogramLines } from "../../src/metrics/histogram.ts";
import { MetricDefinitionError, Registry, sampleNames } from "../../src/metrics/registry.ts";

describe("the exposition format", () => {
  test("label values escape backslash, double quote and newline, and nothing else", () => {
    const cases: [string, string][] = [
      ["plain", "plain"],
      ['say "hi"', 'say \\"hi\\"'],
      ["a\\b", "a\\\\b"],
      ["two\nlines", "two\\nlines"],
      ["tab\there é", "tab\there é"],
      ['\\"\n', '\\\\\\"\\n'],
    ];
    for (const [raw, escaped] of cases) assert.equal(escapeLabelValue(raw), escaped, JSON.stringify(raw));
  });

  test("HELP text escapes backslash and newline but keeps quotes", () => {
    assert.equal(escapeHelp('a "b" \\ c\nd'), 'a "b" \\\\ c\\nd');
  });

  test("numbers are written as Go's parser reads them", () => {
    const cases: [number, string][] = [[3, "3"], [0.25, "0.25"], [Infinity, "+Inf"], [-Infinity, "-Inf"], [NaN, "NaN"], [1e21, "1e+21"]];
    for (const [v, s] of cases) assert.equal(formatValue(v), s);
  });

  test("label sets are written in definition order, and le is appended last", () => {
    assert.equal(labelText([], []), "");
    assert.equal(labelText(["function", "priority"], ["f", "normal"]), '{function="f",priority="normal"}');
    assert.equal(withLabel("", "le", "0.5"), '{le="0.5"}');
    assert.equal(withLabel('{function="f"}', "le", "+Inf"), '{function="f",le="+Inf"}');
  });

  test("a histogram's buckets are cumulative, end with +Inf, and are followed by _sum and _count", () => {
    const h = new Histogram([0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 2, 20]) h.observe(v);
    assert.equal(
      histogramLines("x_seconds", '{function="f"}', h),
      [
        'x_seconds_bucket{function="f",le="0.1"} 2',
        'x_seconds_bucket{function="f",le="1"} 3',
        'x_seconds_bucket{function="f",le="10"} 4',
        'x_seconds_bucket{function="f",le="+Inf"} 5',
        'x_seconds_sum{function="f"} 22.65',
        'x_seconds_count{function="f"} 5',
        "",
      ].join("\n"),
    );
  });

  test("histogram bounds that do not increase are refused", () => {
    assert.throws(() => new Histogram([1, 1]), RangeError);
  });
});

describe("the registry", () => {
  test("a page lists each family's HELP and TYPE, then its series, in definition order", () => {
    const r = new Registry();
    const jobs = r.define({ name: "t_jobs", type: "gauge", help: "Jobs.", labels: ["function"] });
    const total = r.define({ name: "t_total", type: "counter", help: "All.", labels: [] });
    const lat = r.define({ name: "t_seconds", type: "histogram", help: "Latency.", labels: [], buckets: [1] });
    jobs.set(["f"], 3);
    jobs.collect(jobs.sample(['g"'], 1));
    total.inc();
    total.inc([], 2);
    lat.observe([], 0.5);
    assert.equal(
      r.render(),
      [
        "# HELP t_jobs Jobs.",
        "# TYPE t_jobs gauge",
        't_jobs{function="f"} 3',
        't_jobs{function="g\\""} 1',
        "# HELP t_total All.",
        "# TYPE t_total counter",
        "t_total 3",
        "# HELP t_seconds Latency.",
        "# TYPE t_seconds histogram",
        't_seconds_bucket{le="1"} 1',
        't_seconds_bucket{le="+Inf"} 1',
        "t_seconds_sum 0.5",
        "t_seconds_count 1",
        "",
      ].join("\n"),
    );
    assert.ok(!r.render().includes('"g\\""'), "collected text is for one page only");
  });

  test("bad names, reserved labels, duplicates and a wrong number of label values are refused, naming the metric", () => {
    const r = new Registry();
    r.define({ name: "ok_total", type: "counter", help: "", labels: ["cause"] });
    const bad: [() => unknown, RegExp][] = [
      [() => r.define({ name: "1bad", type: "gauge", help: "", labels: [] }), /"1bad" is not a valid/],
      [() => r.define({ name: "ok_total", type: "gauge", help: "", labels: [] }), /ok_total is defined twice/],
      [() => r.define({ name: "h", type: "histogram", help: "", labels: ["le"], buckets: [1] }), /h: label "le"/],
      [() => r.define({ name: "r", type: "gauge", help: "", labels: ["__x"] }), /r: label "__x"/],
      [() => r.define({ name: "hb", type: "histogram", help: "", labels: [], buckets: [2, 1] }), /must increase/],
    ];
    for (const [fn, message] of bad) assert.throws(fn, message);
    assert.throws(() => r.define({ name: "x", type: "gauge", help: "", labels: ["a"] }).set([], 1), MetricDefinitionError);
  });

  test("sample names include a histogram's _bucket, _sum and _count", () => {
    const names = sampleNames([
      { name: "a", type: "gauge", help: "", labels: [] },
      { name: "b", type: "histogram", help: "", labels: [], buckets: [1] },
    ]);
    assert.deepEqual([...names].sort(), ["a", "b_bucket", "b_count", "b_sum"]);
  });
});
