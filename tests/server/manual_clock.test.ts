/**
 * ManualClock (src/server/manual_clock.ts), the clock tests and embedders
 * give `createServer({ clock })`: time moves only on `advance`, and the
 * timers that fall due fire in order, each at its own due time.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../mod.ts";

describe("ManualClock", () => {
  test("time stands still until advanced, and starts where it is told", () => {
    const clock = new ManualClock(1_000);
    assert.equal(clock.now(), 1_000);
    assert.equal(clock.now(), 1_000);
    clock.advance(250);
    assert.equal(clock.now(), 1_250);
  });

  test("due timers fire in order of due time, then of setting, each seeing its own due time", () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`late@${clock.now()}`), 31);
    clock.advance(30);
    assert.deepEqual(fired, ["a@10", "b@20", "c@20"]);
    assert.equal(clock.now(), 30);
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextAt, 31);
  });

  test("a timer set by a firing timer runs in the same advance when it falls due inside it", () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now());
      clock.setTimeout(tick, 1000);
    };
    clock.setTimeout(tick, 1000);
    clock.advance(3500);
    assert.deepEqual(fired, [1000, 2000, 3000]);
    assert.equal(clock.nextAt, 4000);
  });

  test("a cleared timer never fires; a timer due now fires at the next advance, even of 0 ms", () => {
    const clock = new ManualClock(0);
    let ran = 0;
    const h = clock.setTimeout(() => ran++, 5);
    clock.clearTimeout(h);
    clock.clearTimeout(undefined);
    clock.setTimeout(() => ran += 10, 0);
    assert.equal(ran, 0);
    clock.advance(0);
    assert.equal(ran, 10);
    clock.advance(100);
    assert.equal(ran, 10);
    assert.equal(clock.pending, 0);
  });

  test("time never goes back", () => {
    const clock = new ManualClock(0);
    assert.throws(() => clock.advance(-1), RangeError);
    assert.throws(() => clock.advance(Number.NaN), RangeError);
    assert.equal(clock.now(), 0);
  });
});
