/**
 * The metric families a process exposes, each defined once (name, type,
 * help, label names, bounds) so that its page, its documentation and the
 * test of the example dashboard and alert rules (every metric they use
 * exists) all read the same definitions. A family holds the series set
 * as things happen (`inc`, `set`, `observe`) and, for gauges read at
 * scrape time, text its collector adds for one page (`collect`).
 *
 * Written here rather than taken from prom-client: the core records its
 * histograms itself and must import nothing that does I/O or reads a clock
 * (prom-client's default metrics and timers do); prom-client keeps a
 * series object per label set and returns the page as one string, where
 * 100,000 functions want their gauges read from the core at scrape time and
 * the page built and sent in slices across loop turns; and the format is
 * small enough (exposition.ts) to test line by line.
 *
 * @module
 */
import { familyHeader, labelText, type MetricType, sampleLine, validLabel, validName } from "./exposition.ts";
import { Histogram, histogramLines } from "./histogram.ts";

/** One family, as defined. */
export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** Histograms: the upper bounds. */
  readonly buckets?: readonly number[];
}

/** A metric definition was refused (a bad name, label or duplicate); names the metric. */
export class MetricDefinitionError extends Error {
  readonly code = "METRIC_DEFINITION";
  constructor(message: string) {
    super(message);
    this.name = "MetricDefinitionError";
  }
}

export class Family {
  readonly def: MetricDef;
  readonly #series = new Map<string, number | Histogram>();
  #collected: string[] = [];

  constructor(def: MetricDef) {
    this.def = def;
  }

  /** Adds `by` to a counter or gauge series. */
  inc(values: readonly string[] = [], by = 1): void {
    const key = this.#key(values);
    this.#series.set(key, ((this.#series.get(key) as number | undefined) ?? 0) + by);
  }

  set(values: readonly string[], v: number): void {
    this.#series.set(this.#key(values), v);
  }

  observe(values: readonly string[], v: number): void {
    const key = this.#key(values);
    let h = this.#series.get(key) as Histogram | undefined;
    if (!h) this.#series.set(key, h = new Histogram(this.def.buckets ?? []));
    h.observe(v);
  }

  /** Drops every series (a gauge recomputed each scrape). */
  clear(): void {
    this.#series.clear();
  }

  /** Sample lines a collector built for the next page (see `sample` and `histogramLines`). */
  collect(text: string): void {
    if (text !== "") this.#collected.push(text);
  }

  /** A sample line of this family for `values`. */
  sample(values: readonly string[], v: number): string {
    return sampleLine(this.def.name, labelText(this.def.labels, values), v);
  }

  /** Appends the family's part of a page to `out`: header and series, then each collected text (which it forgets). */
  render(out: string[]): void {
    const { name, type, help } = this.def;
    let s = familyHeader(name, type, help);
    for (const [key, v] of this.#series) s += typeof v === "number" ? sampleLine(name, key, v) : histogramLines(name, key, v);
    out.push(s, ...this.#collected);
    this.#collected = [];
  }

  #key(values: readonly string[]): string {
    if (values.length !== this.def.labels.length) {
      throw new MetricDefinitionError(
        `${this.def.name} takes labels ${this.def.labels.join(", ") || "(none)"}, got ${values.length} values`,
      );
    }
    return labelText(this.def.labels, values);
  }
}

export class Registry {
  readonly #families = new Map<string, Family>();

  /** Defines a family; a bad or repeated name is a MetricDefinitionError. */
  define(def: MetricDef): Family {
    if (!validName(def.name)) throw new MetricDefinitionError(`metric name ${JSON.stringify(def.name)} is not a valid Prometheus name`);
    if (this.#families.has(def.name)) throw new MetricDefinitionError(`metric ${def.name} is defined twice`);
    for (const l of def.labels) {
      if (!validLabel(l) || (def.type === "histogram" && l === "le")) {
        throw new MetricDefinitionError(`metric ${def.name}: label ${JSON.stringify(l)} is not allowed`);
      }
    }
    if (def.type === "histogram") new Histogram(def.buckets ?? []); // checks the bounds increase
    const family = new Family(def);
    this.#families.set(def.name, family);
    return family;
  }

  get definitions(): MetricDef[] {
    return [...this.#families.values()].map((f) => f.def);
  }

  /** The page, families in definition order. */
  render(): string {
    return this.renderParts().join("");
  }

  /** The page in parts (a big page is sent a part at a time rather than built as one string). */
  renderParts(): string[] {
    const out: string[] = [];
    for (const f of this.#families.values()) f.render(out);
    return out;
  }
}

/** Every sample name a set of definitions can produce: a histogram's `_bucket`, `_sum` and `_count`. */
export function sampleNames(defs: readonly MetricDef[]): Set<string> {
  const names = new Set<string>();
  for (const d of defs) {
    if (d.type === "histogram") { for (const s of ["_bucket", "_sum", "_count"]) names.add(d.name + s); }
    else names.add(d.name);
  }
  return names;
}
