/**
 * Structured, levelled logging to stderr: one line per event, `text` for
 * people or `json` for machines. Causes that can repeat under attack go
 * through {@link Logger.limited} so a flood costs one line per interval.
 *
 * @module
 */

export const LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type Level = (typeof LEVELS)[number];

export interface LoggerOptions {
  level: Level;
  format: "text" | "json";
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
  /** Clock for timestamps and rate limits. */
  now?: () => number;
}

export class Logger {
  readonly level: Level;
  readonly #rank: number;
  readonly #format: "text" | "json";
  readonly #write: (line: string) => void;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(options: LoggerOptions) {
    this.level = options.level;
    this.#rank = LEVELS.indexOf(options.level);
    this.#format = options.format;
    this.#write = options.write ?? ((line) => process.stderr.write(line + "\n"));
    this.#now = options.now ?? Date.now;
  }

  enabled(level: Exclude<Level, "silent">): boolean {
    return LEVELS.indexOf(level) >= this.#rank;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.log("debug", message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log("info", message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log("warn", message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log("error", message, fields);
  }

  /** Logs at most once per `intervalMs` for `key`, counting what it suppressed. */
  limited(key: string, intervalMs: number, level: Exclude<Level, "silent">, message: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const t = this.#now();
    const seen = this.#last.get(key);
    if (seen && t - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.#last.set(key, { at: t, suppressed: 0 });
    if (this.#last.size > 10_000) this.#last.clear();
    this.log(level, message, suppressed > 0 ? { ...fields, suppressed } : fields);
  }

  log(level: Exclude<Level, "silent">, message: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const time = new Date(this.#now()).toISOString();
    if (this.#format === "json") {
      this.#write(JSON.stringify({ time, level, msg: message, ...fields }));
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${message}`;
    if (fields) { for (const [k, v] of Object.entries(fields)) line += ` ${k}=${typeof v === "string" ? JSON.stringify(v) : String(v)}`; }
    this.#write(line);
  }
}

/** gearmand's names for levels, for the `verbose` admin command. */
export function gearmanVerbose(level: Level): string {
  return { debug: "DEBUG", info: "INFO", warn: "WARNING", error: "ERROR", silent: "FATAL" }[level];
}
