/**
 * `npm test`: builds the binary (the binary and interop suites run it), runs
 * every test under Bun, says why tests were skipped (each reason with its
 * count), and ends with the one line CI reads: `N passed, N failed, N skipped`.
 *
 * Arguments are passed to `bun test` (e.g. `npm test -- --timeout 1000`); a
 * path argument narrows the run (`npm test -- ./tests/core/`).
 * Set GEARBOX_SKIP_BUILD=1 to reuse an existing dist/gearbox.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import type { SkipRecord } from "../tests/helpers/skip_reasons.ts";

const bun = process.execPath;
const extra = process.argv.slice(2);
const paths = extra.filter((a) => a.startsWith("./") || a.startsWith("tests/"));
const flags = extra.filter((a) => !paths.includes(a));

if (process.env.GEARBOX_SKIP_BUILD !== "1" || !existsSync("dist/gearbox")) {
  const build = spawnSync(bun, ["scripts/build.ts"], { stdio: "inherit" });
  if (build.status !== 0) {
    console.log("0 passed, 1 failed, 0 skipped");
    process.exit(1);
  }
}

mkdirSync(".test-results", { recursive: true });
const report = ".test-results/junit.xml";
const skipLog = ".test-results/skips.jsonl";
rmSync(report, { force: true });
rmSync(skipLog, { force: true });
const t0 = Date.now();
const run = spawnSync(
  bun,
  [
    "test",
    ...(paths.length ? paths : ["./tests/"]),
    "--timeout",
    "60000",
    "--reporter=junit",
    `--reporter-outfile=${report}`,
    "--preload",
    "./tests/helpers/skip_reasons.ts",
    ...flags,
  ],
  { stdio: "inherit", env: { ...process.env, GEARBOX_SKIP_LOG: skipLog } },
);

let tests = 0, failures = 0, skipped = 0, errors = 0;
if (existsSync(report)) {
  const head = /<testsuites\b[^>]*>/.exec(readFileSync(report, "utf8"))?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(head)?.[1] ?? 0);
  tests = attr("tests");
  failures = attr("failures");
  skipped = attr("skipped");
  errors = attr("errors");
}
// A crashed run or a file that failed to load counts as a failure even if the report lacks it.
if (run.status !== 0 && failures + errors === 0) errors = 1;
const failed = failures + errors;
const passed = Math.max(tests - failures - skipped, 0);
printSkipReasons();
console.log(`\ntests took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);

/** XML attribute text back to the text. */
function unescapeXml(text: string): string {
  return text.replace(
    /&(quot|apos|lt|gt|amp|#x?[0-9a-fA-F]+);/g,
    (_, e: string) =>
      e === "quot"
        ? '"'
        : e === "apos"
        ? "'"
        : e === "lt"
        ? "<"
        : e === "gt"
        ? ">"
        : e === "amp"
        ? "&"
        : String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : Number(e.slice(1))),
  );
}

/** The skipped test cases of the JUnit report: file and name. */
function skippedCases(xml: string): { file: string; name: string }[] {
  const cases: { file: string; name: string }[] = [];
  const open = /<testcase\b((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/g;
  for (let m; (m = open.exec(xml)) !== null;) {
    if (m[2] === "/" || !/^\s*<skipped\b/.test(xml.slice(open.lastIndex))) continue;
    const attrs = new Map([...m[1]!.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1]!, unescapeXml(a[2]!)]));
    cases.push({ file: attrs.get("file") ?? "?", name: attrs.get("name") ?? "?" });
  }
  return cases;
}

/**
 * Each reason tests were skipped for, with how many: the JUnit report says
 * which tests were skipped, the preloaded recorder (tests/helpers/skip_reasons.ts)
 * why. A skipped test it has no reason for is counted as such, never dropped;
 * a skipped group (describe) is listed on its own, as Bun counts no tests in it.
 */
function printSkipReasons(): void {
  const cases = existsSync(report) ? skippedCases(readFileSync(report, "utf8")) : [];
  const records: SkipRecord[] = existsSync(skipLog)
    ? readFileSync(skipLog, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as SkipRecord)
    : [];
  const why = new Map<string, string[]>();
  for (const r of records.filter((r) => r.kind === "test")) {
    const key = `${r.file}\0${r.name}`;
    why.set(key, [...(why.get(key) ?? []), r.reason]);
  }
  const counts = new Map<string, number>();
  for (const c of cases) {
    const reasons = why.get(`${c.file}\0${c.name}`);
    const reason = reasons?.length
      ? reasons.shift()! || "(skipped with no reason given)"
      : "(no reason recorded: left out by -t, or skipped by test.skip or bun:test)";
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  const groups = records.filter((r) => r.kind === "group");
  if (counts.size === 0 && groups.length === 0) return;
  console.log("\nskipped tests, by reason:");
  for (const [reason, n] of [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
    console.log(`${String(n).padStart(6)}  ${reason}`);
  }
  if (groups.length > 0) {
    console.log("skipped groups (Bun counts none of their tests):");
    for (const g of groups) console.log(`        ${g.file}: "${g.name}": ${g.reason || "(no reason given)"}`);
  }
}
