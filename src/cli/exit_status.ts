/**
 * One table of exit statuses for every subcommand, after sysexits(3) where
 * it has a word for it. README's "Exit statuses" section is this table.
 *
 * | status | meaning |
 * |---|---|
 * | 0 | done (a job completed, queued, a listing shown, a server stopped cleanly) |
 * | 1 | refused or failed: the server said no (ERR, queue full, unknown job), the job failed, a damaged file |
 * | 2 | unreachable: no server answered (or a store file could not be read at all) |
 * | 3 | `submit` only: the worker raised an exception (WORK_EXCEPTION) |
 * | 4 | `submit` only: gave up waiting (--timeout) |
 * | 64 | usage: a wrong command line, checked before anything is contacted (EX_USAGE) |
 * | 78 | configuration: a bad config file, environment variable or setting, or an unusable TLS file (EX_CONFIG) |
 *
 * @module
 */
import type { CommanderError } from "commander";

export const EXIT = {
  ok: 0,
  failed: 1,
  unreachable: 2,
  exception: 3,
  timeout: 4,
  usage: 64,
  config: 78,
} as const;

/** commander's exit hook: help and version exit 0, every parse error is a usage error. */
export function exitOnUsageError(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
}
