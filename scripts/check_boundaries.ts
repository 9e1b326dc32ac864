/**
 * Enforces the import rules of docs/architecture.md §2: only src/runtime/ names Bun,
 * Deno, node:net, node:sqlite or process spawning; protocol/ and core/ do no
 * I/O and read no clock; tui/ never imports core/ or server/. Exits 1 with
 * one line per violation.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

const RUNTIME_ONLY = [/\bBun\./, /\bDeno\./, /from "node:net"/, /from "node:sqlite"/, /from "bun:/, /from "node:child_process"/];
const PURE_FORBIDDEN = [/from "node:(fs|net|os|child_process|sqlite|dgram|http)"/, /\bDate\.now\(/, /new Date\(\)/, /Math\.random\(/, /\bprocess\./, /setTimeout|setInterval|setImmediate/];
const problems: string[] = [];

for (const file of files("src")) {
  const text = readFileSync(file, "utf8");
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  if (!file.startsWith(join("src", "runtime"))) {
    for (const re of RUNTIME_ONLY) if (re.test(code)) problems.push(`${file}: runtime-specific code (${re}) outside src/runtime/`);
  }
  if (file.startsWith(join("src", "protocol")) || file.startsWith(join("src", "core"))) {
    for (const re of PURE_FORBIDDEN) if (re.test(code)) problems.push(`${file}: I/O, clock or randomness (${re}) in a pure layer`);
    for (const m of code.matchAll(/from "\.\.\/(\w+)\//g)) {
      const allowed = file.startsWith(join("src", "protocol")) ? [] : ["protocol"];
      if (!allowed.includes(m[1]!)) problems.push(`${file}: imports ../${m[1]}/ (pure layers import only protocol/)`);
    }
  }
}
try {
  for (const file of files("tui")) {
    if (/from "\.\.\/src\/(core|server)\//.test(readFileSync(file, "utf8"))) problems.push(`${file}: tui/ must not import core/ or server/`);
  }
} catch { /* no tui sources yet */ }

if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("boundaries ok");
