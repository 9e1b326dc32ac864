/**
 * Schedule timing (src/schedule/, docs/schedules.md) as tables: next slots in several zones,
 * the DST gap and repeat in three zones, month ends, leap days, the seconds field, `every`
 * across DST, the catch-up list, and each bad spec with its error. The same table runs under
 * Deno too, whose Intl may ship other time zone data.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nextSlot, parseTiming, ScheduleError, slotsBetween } from "../../src/schedule/timing.ts";
import { SLOT_CASES } from "./timing_cases.ts";

const iso = (ms: number | undefined) => (ms === undefined ? "none" : new Date(ms).toISOString().replace(".000Z", "Z"));
const at = (text: string) => Date.parse(text);

/** Every row's slots, as this runtime computes them. */
function computed(): string[][] {
  return SLOT_CASES.map((c) => {
    const timing = parseTiming(c.spec);
    const anchor = at(c.anchor ?? "2026-01-01T00:00:00Z");
    const out: string[] = [];
    let after = at(c.after);
    for (let i = 0; i < c.expect.length; i++) {
      const next = nextSlot(timing, after, anchor);
      out.push(iso(next));
      if (next === undefined) break;
      after = next;
    }
    return out;
  });
}

describe("next slots", () => {
  const results = computed();
  SLOT_CASES.forEach((c, i) => {
    test(c.name, () => assert.deepEqual(results[i], c.expect, JSON.stringify(c.spec)));
  });
});

describe("the slots between two instants", () => {
  test("every second over ten seconds, limited to five, says more were left out", () => {
    const t = parseTiming({ every: "1s" });
    const from = at("2026-01-01T00:00:00Z");
    const r = slotsBetween(t, from, from + 10_000, from, 5);
    assert.deepEqual(r.slots, [1, 2, 3, 4, 5].map((s) => from + s * 1000));
    assert.equal(r.truncated, true);
    const all = slotsBetween(t, from, from + 10_000, from, 10);
    assert.equal(all.slots.length, 10);
    assert.equal(all.slots.at(-1), from + 10_000, "the end of the range is included");
    assert.equal(all.truncated, false);
  });

  test("a cron over the Berlin gap and repeat days lists each slot once, oldest first", () => {
    const t = parseTiming({ cron: "0,30 2 * * *", zone: "Europe/Berlin" });
    const gap = slotsBetween(t, at("2026-03-29T00:00:00Z"), at("2026-03-29T12:00:00Z"), 0, 10);
    assert.deepEqual(gap.slots.map(iso), ["2026-03-29T01:00:00Z"]);
    const repeat = slotsBetween(t, at("2026-10-25T00:00:00Z"), at("2026-10-25T12:00:00Z"), 0, 10);
    assert.deepEqual(repeat.slots.map(iso), ["2026-10-25T00:30:00Z"]);
    const fromStart = slotsBetween(t, at("2026-10-24T23:59:59Z"), at("2026-10-25T12:00:00Z"), 0, 10);
    assert.deepEqual(fromStart.slots.map(iso), ["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z"]);
  });

  test("an empty range and a never-matching cron give no slots and nothing left out", () => {
    assert.deepEqual(slotsBetween(parseTiming({ every: "1m" }), 0, 59_999, 0, 10), { slots: [], truncated: false });
    assert.deepEqual(slotsBetween(parseTiming({ cron: "0 0 31 4 *" }), 0, 1e12, 0, 10), { slots: [], truncated: false });
  });

  test("six hours of every-second catch-up are computed quickly (measured)", () => {
    const t = parseTiming({ cron: "* * * * * *", zone: "Europe/Berlin" });
    const started = performance.now();
    const r = slotsBetween(t, at("2026-10-24T22:00:00Z"), at("2026-10-25T04:00:00Z"), 0, 100_000);
    const ms = performance.now() - started;
    console.log(`slotsBetween: ${r.slots.length} one-second cron slots across the Berlin repeat in ${ms.toFixed(0)} ms`);
    assert.equal(r.slots.length, 6 * 3600 - 3600, "the repeated hour's second pass has no slots");
    assert.ok(ms < 30_000, `${ms} ms`);
  });
});

describe("parsed timings", () => {
  test("a timing keeps the expression, the interval in ms and the zone, UTC by default", () => {
    assert.deepEqual(parseTiming({ cron: " */5 * * * * " }), { kind: "cron", expr: "*/5 * * * *", zone: "UTC" });
    assert.deepEqual(parseTiming({ every: "1h30m", zone: "Europe/Berlin" }), { kind: "every", everyMs: 5_400_000, zone: "Europe/Berlin" });
    const durations: [string | number, number][] = [
      ["90s", 90_000],
      ["5m", 300_000],
      ["250ms", 250],
      ["1d2h", 93_600_000],
      ["1.5s", 1500],
      [2.5, 2500],
      [60, 60_000],
      [1.001, 1001],
      [4.35, 4350],
      [0.007, 7],
    ];
    for (const [every, ms] of durations) assert.equal((parseTiming({ every }) as { everyMs: number }).everyMs, ms, String(every));
  });

  test("each bad spec is refused with INVALID_SCHEDULE, naming the field and the value", () => {
    const bad: [unknown, RegExp][] = [
      [{}, /timing: give cron .* or every/],
      [{ cron: "* * * * *", every: "1m" }, /not both/],
      [{ cron: "* * *" }, /cron "\* \* \*": has 3 fields/],
      [{ cron: "* * * * * * *" }, /has 7 fields/],
      [{ cron: "" }, /cron "": has 0 fields/],
      [{ cron: "61 * * * *" }, /minute field has 61, outside 0-59/],
      [{ cron: "0 0 * * * 24" }, /day-of-week field has 24, outside 0-7/],
      [{ cron: "0 24 * * *" }, /hour field has 24, outside 0-23/],
      [{ cron: "0 0 0 * *" }, /day-of-month field has 0, outside 1-31/],
      [{ cron: "0 0 1 13 *" }, /month field has 13, outside 1-12/],
      [{ cron: "0 0 1 foo *" }, /month field has "foo", which is not a number or a name/],
      [{ cron: "*/0 * * * *" }, /minute field has step "0"/],
      [{ cron: "5-1 * * * *" }, /minute field has the range "5-1", which runs backwards/],
      [{ cron: "1,,2 * * * *" }, /minute field "1,,2" has an empty list item/],
      [{ cron: "0 0 L * *" }, /day-of-month field has "L", which is not a number/],
      [{ cron: "@fortnightly" }, /cron "@fortnightly": unknown nickname/],
      [{ cron: 5 }, /cron 5: must be a string/],
      [{ every: "" }, /every "": is empty/],
      [{ every: "90" }, /every "90": needs a unit/],
      [{ every: "5 minutes" }, /every "5 minutes": is not a duration/],
      [{ every: "30m1h" }, /every "30m1h": repeats a unit or lists a smaller unit before a larger one/],
      [{ every: 0 }, /every 0: must be a positive duration/],
      [{ every: -5 }, /every -5: must be a positive duration/],
      [{ every: "0s" }, /every "0s": must be a positive duration/],
      [{ every: 0.0001 }, /every 0.0001: must be a whole number of milliseconds/],
      [{ every: Infinity }, /every Infinity: must be a positive duration/],
      [{ every: true }, /every true: must be a duration string/],
      [{ cron: "* * * * *", zone: "Mars/Olympus_Mons" }, /zone "Mars\/Olympus_Mons": not a time zone/],
      [{ every: "1m", zone: "" }, /zone "": must be an IANA time zone name/],
    ];
    for (const [spec, message] of bad) {
      assert.throws(() => parseTiming(spec as never), (e: unknown) => {
        assert.ok(e instanceof ScheduleError, `${JSON.stringify(spec)} threw ${String(e)}`);
        assert.equal(e.code, "INVALID_SCHEDULE");
        assert.match(e.message, message);
        return true;
      }, JSON.stringify(spec));
    }
  });
});

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = `${ROOT}node_modules/.bin/deno`;

test("deno run computes the same next-slot table", { skip: existsSync(DENO) ? false : "deno not installed (npm install)" }, () => {
  const script = `import { nextSlot, parseTiming } from "${ROOT}src/schedule/timing.ts";
import { SLOT_CASES } from "${ROOT}tests/schedule/timing_cases.ts";
const out = SLOT_CASES.map((c) => { const t = parseTiming(c.spec); const a = Date.parse(c.anchor ?? "2026-01-01T00:00:00Z");
  let after = Date.parse(c.after); const r = [];
  for (let i = 0; i < c.expect.length; i++) { const n = nextSlot(t, after, a); r.push(n === undefined ? "none" : new Date(n).toISOString().replace(".000Z", "Z")); if (n === undefined) break; after = n; }
  return r; });
console.log(JSON.stringify(out));`;
  const run = spawnSync(DENO, ["eval", "--ext=ts", script], { encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim().split("\n").at(-1)!), SLOT_CASES.map((c) => c.expect));
});
