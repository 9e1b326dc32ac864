/**
 * Pure text helpers for the screen: column padding, ages, sizes, times and
 * the throughput sparkline.
 *
 * @module
 */

/** Pads (or cuts, with …) to exactly `width` characters. */
export function cell(text: string | number | undefined, width: number, align: "left" | "right" = "left"): string {
  const s = text === undefined ? "-" : String(text);
  if (s.length > width) return width <= 1 ? s.slice(0, width) : s.slice(0, width - 1) + "…";
  return align === "left" ? s.padEnd(width) : s.padStart(width);
}

/** 3s, 4m, 2h, 5d. */
export function age(ms: number | undefined): string {
  if (ms === undefined || ms < 0) return "-";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  if (n < 1024 * 1024) return `${Math.round(n / 1024)}K`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)}M`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)}G`;
}

/** A wall-clock time as HH:MM:SS (UTC), or "never". */
export function clock(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().slice(11, 19) : "never";
}

const BARS = "▁▂▃▄▅▆▇█";

/** Samples as a sparkline of `width` characters (the latest at the right). */
export function sparkline(samples: readonly number[], width: number): string {
  const tail = samples.slice(-width);
  const max = Math.max(...tail, 0);
  const line = tail.map((v) => (max === 0 ? BARS[0]! : BARS[Math.min(Math.round((v / max) * (BARS.length - 1)), BARS.length - 1)]!)).join(
    "",
  );
  return line.padStart(width);
}

export function rate(r: number | undefined): string {
  if (r === undefined) return "-";
  return r >= 100 ? String(Math.round(r)) : r.toFixed(1);
}
