/**
 * The Prometheus text exposition format 0.0.4, as pure functions: a
 * family's `# HELP`/`# TYPE` lines, one sample line, label values escaped
 * (backslash, double quote, newline), numbers as Go's parser reads them
 * (`+Inf`, `-Inf`, `NaN`). Nothing here knows gearbox; the registry
 * (registry.ts) and the server's collectors build pages from it.
 *
 * @module
 */

/** The media type a scrape answers with. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram";

/** A metric name as the format allows it. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** A label name (names starting with `__` are reserved). */
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function validName(name: string): boolean {
  return NAME.test(name);
}

export function validLabel(name: string): boolean {
  return LABEL.test(name) && !name.startsWith("__");
}

/** A label value inside its double quotes: `\` -> `\\`, `"` -> `\"`, newline -> `\n`. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** HELP text: `\` -> `\\`, newline -> `\n` (quotes stay). */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** A sample value: integers as integers, infinities and NaN by their names. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** `{a="x",b="y"}` for parallel name and value lists, "" when there are none. */
export function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  let s = "{";
  for (let i = 0; i < names.length; i++) s += `${i ? "," : ""}${names[i]}="${escapeLabelValue(values[i] ?? "")}"`;
  return s + "}";
}

/** One sample line (with its newline); `labels` is a `labelText` result. */
export function sampleLine(name: string, labels: string, value: number): string {
  return `${name}${labels} ${formatValue(value)}\n`;
}

/** The `# HELP` and `# TYPE` lines that open a family. */
export function familyHeader(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** A label set with one more label appended (a histogram's `le`). */
export function withLabel(labels: string, name: string, value: string): string {
  const pair = `${name}="${escapeLabelValue(value)}"`;
  return labels === "" ? `{${pair}}` : `${labels.slice(0, -1)},${pair}}`;
}
