/**
 * Builds the single binary: `bun build --compile` of the CLI into dist/gearbox.
 * Prints the size and a smoke check (`--version`) so a broken build is loud.
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";

const out = "dist/gearbox";
const args = ["build", "--compile", "--minify", "--bytecode", "--format", "esm", "src/cli/main.ts", "--outfile", out];
const t0 = Date.now();
const build = spawnSync(process.execPath, args, { stdio: "inherit" });
if (build.status !== 0) {
  console.error(`build failed (exit ${build.status})`);
  process.exit(1);
}
const version = spawnSync(out, ["--version"], { encoding: "utf8" });
if (version.status !== 0) {
  console.error(`built binary does not run: ${version.stderr}`);
  process.exit(1);
}
const mb = (statSync(out).size / 1024 / 1024).toFixed(1);
console.log(`built ${out} (${mb} MiB) in ${Date.now() - t0} ms; --version says ${version.stdout.trim()}`);
