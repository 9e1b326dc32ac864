/**
 * `npm test`: builds the binary (the binary and interop suites run it), runs
 * every test under Bun, and ends with the one line CI reads:
 * `N passed, N failed, N skipped`.
 *
 * Arguments are passed to `bun test` (e.g. `npm test -- --timeout 1000`); a
 * path argument narrows the run (`npm test -- ./tests/core/`).
 * Set GEARBOX_SKIP_BUILD=1 to reuse an existing dist/gearbox.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";

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
rmSync(report, { force: true });
const t0 = Date.now();
const run = spawnSync(
  bun,
  ["test", ...(paths.length ? paths : ["./tests/"]), "--timeout", "60000", "--reporter=junit", `--reporter-outfile=${report}`, ...flags],
  { stdio: "inherit" },
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
console.log(`\ntests took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
