/**
 * Preloaded by `npm test` (scripts/test.ts): records why each test is
 * skipped, so the summary can say it. Bun's report lists skipped tests but
 * drops the reason a test gave in `{ skip: "..." }`, and the reasons come
 * from many places (skipIf, availability, a ternary in the test's options).
 *
 * It passes `node:test` through unchanged, except that `test`/`it` and
 * `describe`/`suite` (and their `.skip` forms) first append one JSON line per
 * skipped test or group to the file GEARBOX_SKIP_LOG names: the test file,
 * the name, the reason and the kind. Without GEARBOX_SKIP_LOG it does nothing.
 *
 * @module
 */
import { mock } from "bun:test";
import { appendFileSync } from "node:fs";
import { relative } from "node:path";
import * as real from "node:test";

export interface SkipRecord {
  kind: "test" | "group";
  /** The test file as Bun's JUnit report names it: relative to the working directory when inside it. */
  file: string;
  name: string;
  /** The reason given; "" when the test was skipped without one (`skip: true`, `test.skip`). */
  reason: string;
}

const LOG = process.env.GEARBOX_SKIP_LOG;

/** The test file that called: the first stack frame in a *.test.ts(x) file. */
function callerFile(): string {
  for (const line of (new Error().stack ?? "").split("\n")) {
    const m = /\(?((?:\/|[A-Za-z]:)[^():]*\.test\.tsx?):\d+:\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const inside = relative(process.cwd(), m[1]!);
    return inside.startsWith("..") ? m[1]! : inside;
  }
  return "?";
}

function record(kind: SkipRecord["kind"], args: unknown[], reason: unknown): void {
  const name = typeof args[0] === "string"
    ? args[0]
    : (args.find((a) => typeof a === "function") as { name?: string } | undefined)?.name ?? "";
  const line: SkipRecord = { kind, file: callerFile(), name, reason: typeof reason === "string" ? reason : "" };
  appendFileSync(LOG!, JSON.stringify(line) + "\n");
}

type Runner = (...args: unknown[]) => unknown;

/** `fn` that records its skipped calls; `.skip` records every call; other properties (`.only`, `.todo`) pass through. */
function recording(kind: SkipRecord["kind"], fn: Runner): Runner {
  const wrapped: Runner = (...args) => {
    const options = args.find((a) => typeof a === "object" && a !== null) as { skip?: unknown } | undefined;
    if (options?.skip) record(kind, args, options.skip);
    return fn(...args);
  };
  const skip = (fn as { skip?: Runner }).skip;
  return Object.assign(wrapped, fn, skip ? { skip: (...args: unknown[]) => (record(kind, args, ""), skip(...args)) } : {});
}

if (LOG) {
  const passThrough = {
    ...real,
    test: recording("test", real.test as Runner),
    it: recording("test", real.it as Runner),
    describe: recording("group", real.describe as Runner),
    suite: recording("group", real.suite as Runner),
  };
  try {
    mock.module("node:test", () => ({ ...passThrough, default: passThrough.test }));
  } catch (e) {
    // Without the recorder the run goes on; the summary then counts the skips as having no reason recorded.
    process.stderr.write(`tests/helpers/skip_reasons.ts: cannot record skip reasons (${String(e)})\n`);
  }
}
