/**
 * A histogram's counts: one counter per upper bound (not cumulative; the
 * page makes them so), the sum and the count. Observing is a short scan of
 * a handful of bounds, cheap enough for every job's wait and run time.
 *
 * @module
 */
import { formatValue, sampleLine, withLabel } from "./exposition.ts";

/** Upper bounds in seconds for latencies from a millisecond to an hour. */
export const SECONDS_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];

export class Histogram {
  readonly bounds: readonly number[];
  /** Observations per bound (the last slot is past every bound: `+Inf` only). */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError(`histogram bounds must increase: ${bounds.join(", ")}`);
    }
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(v: number): void {
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/** A histogram's `_bucket` (cumulative, `+Inf` last), `_sum` and `_count` lines under `labels`. */
export function histogramLines(name: string, labels: string, h: Histogram): string {
  let s = "";
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i]!;
    s += sampleLine(`${name}_bucket`, withLabel(labels, "le", formatValue(h.bounds[i]!)), cumulative);
  }
  s += sampleLine(`${name}_bucket`, withLabel(labels, "le", "+Inf"), h.count);
  return s + sampleLine(`${name}_sum`, labels, h.sum) + sampleLine(`${name}_count`, labels, h.count);
}
