/**
 * Enforces the import rules of docs/architecture.md §2 on every `.ts`/`.tsx` file under `src/`
 * and `tui/`, and on `mod.ts`:
 *
 * 1. only src/runtime/ names Bun, Deno, node:net, node:sqlite or process spawning;
 * 2. src/protocol/, src/core/ and src/metrics/ do no I/O and read no clock or randomness: of packages they
 *    import only PURE_PACKAGES (and the table keeps src/runtime/ and src/store/ from them);
 * 3. every import between folders follows TABLE (type-only and lazy imports included), and mod.ts
 *    only re-exports;
 * 4. TABLE is the table docs/architecture.md §2 shows, so the page and the check cannot drift.
 *
 * 5. no import cycle between the files of src/core/, type-only imports included;
 * 6. a LAZY_PACKAGES package (the PostgreSQL driver) is named only in src/runtime/, and nothing
 *    mod.ts loads when imported (its static, non-type imports, followed) names it but lazily.
 *
 * Exits 1 with one line per violation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

/** A folder an import may reach, and how: any import, `import type` only, or a lazy `import()` only. */
export interface Allowed {
  folder: string;
  only?: "types" | "lazy";
}

/** One row of the import table: a folder (or `mod.ts`) and what its files may import. */
export interface Row {
  folder: string;
  imports: Allowed[];
  /** The file may hold nothing but `export ... from` statements. */
  reexportsOnly?: boolean;
}

const any = (...folders: string[]): Allowed[] => folders.map((folder) => ({ folder }));

/**
 * The import table of docs/architecture.md §2: a file in `folder` may import a file of its own
 * folder or of one listed in `imports`, nothing else in the table. Packages (`node:*`, `ink`, ...)
 * are left to rules 1 and 2.
 */
export const TABLE: Row[] = [
  { folder: "src/protocol/", imports: [] },
  { folder: "src/core/", imports: any("src/protocol/", "src/metrics/") },
  { folder: "src/store/", imports: any("src/core/", "src/runtime/") },
  {
    folder: "src/server/",
    imports: any("src/core/", "src/protocol/", "src/store/", "src/runtime/", "src/config/", "src/log/", "src/metrics/"),
  },
  { folder: "src/client/", imports: any("src/protocol/", "src/runtime/") },
  { folder: "src/driver/", imports: any("src/client/", "src/runtime/", "src/config/", "src/log/", "src/metrics/") },
  { folder: "src/config/", imports: [] },
  { folder: "src/log/", imports: [] },
  { folder: "src/metrics/", imports: [] },
  { folder: "src/runtime/", imports: [] },
  {
    folder: "src/cli/",
    imports: [
      ...any(
        "src/protocol/",
        "src/core/",
        "src/store/",
        "src/server/",
        "src/client/",
        "src/driver/",
        "src/config/",
        "src/log/",
        "src/runtime/",
        "src/metrics/",
      ),
      { folder: "tui/", only: "lazy" },
    ],
  },
  { folder: "tui/", imports: [{ folder: "src/client/" }, { folder: "src/protocol/", only: "types" }] },
  {
    folder: "mod.ts",
    imports: any("src/client/", "src/server/", "src/store/", "src/config/", "src/log/", "src/driver/"),
    reexportsOnly: true,
  },
];

/** The page whose section 2 holds the table that must equal TABLE, and how messages cite it. */
export const DOCS_PAGE = "docs/architecture.md";
const TABLE_SECTION = "docs/architecture.md §2";

const RUNTIME_ONLY = [/\bBun\./, /\bDeno\./, /from "node:net"/, /from "node:sqlite"/, /from "bun:/, /from "node:child_process"/];
/**
 * Packages the library must not need: named only in src/runtime/, and loaded from outside it
 * only by `import()` of the adapter, so a program importing mod.ts never loads them.
 */
export const LAZY_PACKAGES: readonly string[] = ["postgres"];
/** The only packages src/protocol/, src/core/ and src/metrics/ may import: bytes and hashing, no I/O. */
export const PURE_PACKAGES: readonly string[] = ["node:buffer", "node:crypto"];

/** What src/protocol/, src/core/ and src/metrics/ may not mention: the clock, randomness, the process, timers. */
const PURE_FORBIDDEN = [
  /\bDate\.now\(/,
  /new Date\(\)/,
  /Math\.random\(/,
  /\bprocess\./,
  /setTimeout|setInterval|setImmediate/,
];

/** One import or re-export of a relative path, resolved from the repository's root. */
export interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
  lazy: boolean;
}

/** The code without its comments (block comments, and line comments that fill a line). */
export function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function files(root: string, dir: string): string[] {
  const full = join(root, dir);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return /\.tsx?$/.test(dir) ? [dir] : [];
  return readdirSync(full).sort().flatMap((name) => files(root, join(dir, name)));
}

/** Every relative import, re-export and `import()` of a file's code (packages are skipped). */
export function importsOf(file: string, code: string): Import[] {
  const out: Import[] = [];
  const add = (spec: string, typeOnly: boolean, lazy: boolean) => {
    if (spec.startsWith(".")) out.push({ from: file, to: normalize(join(dirname(file), spec)), typeOnly, lazy });
  };
  for (const m of code.matchAll(/\b(import|export)\s+(type\s+)?([\w*$\s,{}]*?)\s*from\s*["']([^"']+)["']/g)) {
    const names = m[3]!.trim();
    const braced = /^\{([\s\S]*)\}$/.exec(names);
    const parts = braced ? braced[1]!.split(",").map((s) => s.trim()).filter(Boolean) : [];
    add(m[4]!, m[2] !== undefined || (parts.length > 0 && parts.every((p) => p.startsWith("type "))), false);
  }
  for (const m of code.matchAll(/\bimport\s*["']([^"']+)["']/g)) add(m[1]!, false, false);
  for (const m of code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) add(m[1]!, false, true);
  return out;
}

/** The packages (every import that is not a relative path) a file's code names, imported, re-exported or lazily. */
export function packagesOf(code: string): string[] {
  const specs = [
    ...code.matchAll(/\b(?:import|export)\s+(?:type\s+)?[\w*$\s,{}]*?\s*from\s*["']([^"']+)["']/g),
    ...code.matchAll(/\bimport\s*\(?\s*["']([^"']+)["']/g),
  ].map((m) => m[1]!);
  return [...new Set(specs.filter((spec) => !spec.startsWith(".")))];
}

/** The table row a file belongs to: the longest folder that holds it, or undefined. */
export function rowOf(file: string, table: Row[] = TABLE): Row | undefined {
  const path = file.split("\\").join("/");
  let best: Row | undefined;
  for (const row of table) {
    const holds = row.folder.endsWith("/") ? path.startsWith(row.folder) : path === row.folder;
    if (holds && (!best || row.folder.length > best.folder.length)) best = row;
  }
  return best;
}

function describeAllowed(a: Allowed): string {
  return a.only === "types" ? `${a.folder} (types only)` : a.only === "lazy" ? `${a.folder} (lazy import() only)` : a.folder;
}

/** Whether one import follows the table; a reason when it does not. */
export function checkImport(imp: Import, table: Row[] = TABLE): string | undefined {
  const from = rowOf(imp.from, table);
  const to = rowOf(imp.to, table);
  if (!from) return `${imp.from}: not in the import table of ${TABLE_SECTION}`;
  if (!to) return `${imp.from}: imports ${imp.to}, which is outside src/, tui/ and mod.ts`;
  if (from === to) return undefined;
  const allowed = from.imports.find((a) => a.folder === to.folder);
  const how = imp.lazy ? "lazily imports" : imp.typeOnly ? "imports types from" : "imports";
  const may = from.imports.length === 0 ? "nothing else" : from.imports.map(describeAllowed).join(", ");
  const wrong = `${imp.from}: ${how} ${imp.to} (${from.folder} may import ${may})`;
  if (!allowed) return wrong;
  if (allowed.only === "types" && !imp.typeOnly) return wrong;
  if (allowed.only === "lazy" && !imp.lazy) return wrong;
  return undefined;
}

/** The code left once every `export ... from "..."` statement is removed: empty for a file of re-exports. */
function notReexports(code: string): string {
  return code.replace(/\bexport\s+(type\s+)?(\*|\{[^}]*\})\s*from\s*["'][^"']+["'];?/g, "").trim();
}

/**
 * Import cycles between files of one folder: for every import that lies on a cycle, the shortest
 * cycle through it, each cycle once (starting at its alphabetically first file).
 */
export function cyclesIn(imports: Import[], folder: string): string[][] {
  return cycleGraph(imports, folder).cycles;
}

/** A cycle as one line: `a.ts -> b.ts -type-> a.ts`, `-type->` marking an edge of `import type` only. */
export function describeCycle(cycle: string[], imports: Import[], folder: string): string {
  const typeOnly = cycleGraph(imports, folder).typeOnly;
  return cycle.map((f, i) => {
    const next = cycle[(i + 1) % cycle.length]!;
    return `${f} ${typeOnly.has(`${folder}${f} ${folder}${next}`) ? "-type->" : "->"} `;
  }).join("") + cycle[0];
}

function cycleGraph(imports: Import[], folder: string): { cycles: string[][]; typeOnly: Set<string> } {
  const inside = (f: string) => f.startsWith(folder) && !f.slice(folder.length).includes("/");
  const graph = new Map<string, Set<string>>();
  const typeOnly = new Set<string>();
  const valued = new Set<string>();
  for (const i of imports) {
    if (!inside(i.from) || !inside(i.to) || i.from === i.to) continue;
    if (!graph.has(i.from)) graph.set(i.from, new Set());
    graph.get(i.from)!.add(i.to);
    (i.typeOnly ? typeOnly : valued).add(`${i.from} ${i.to}`);
  }
  for (const edge of valued) typeOnly.delete(edge);
  const shortestPath = (start: string, goal: string): string[] | undefined => {
    const previous = new Map<string, string>([[start, start]]);
    const queue = [start];
    for (let k = 0; k < queue.length; k++) {
      const at = queue[k]!;
      if (at === goal) {
        const path = [goal];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return path;
      }
      for (const next of [...(graph.get(at) ?? [])].sort()) {
        if (!previous.has(next)) {
          previous.set(next, at);
          queue.push(next);
        }
      }
    }
    return undefined;
  };
  const seen = new Map<string, string[]>();
  for (const [a, targets] of [...graph].sort(([x], [y]) => (x < y ? -1 : 1))) {
    for (const b of [...targets].sort()) {
      const back = shortestPath(b, a);
      if (!back) continue;
      const cycle = [a, ...back.slice(0, -1)].map((f) => f.slice(folder.length));
      const first = cycle.indexOf([...cycle].sort()[0]!);
      const canonical = [...cycle.slice(first), ...cycle.slice(0, first)];
      seen.set(canonical.join(" "), canonical);
    }
  }
  const cycles = [...seen.values()].sort((x, y) => x.length - y.length || (x.join() < y.join() ? -1 : 1));
  return { cycles, typeOnly };
}

/** The rows of the first table in `## 2.` of the docs page, read back into TABLE's shape. */
export function tableFromDocs(page: string): Row[] {
  const section = /^## 2\.[^\n]*\n([\s\S]*?)(?=^## )/m.exec(page);
  if (!section) throw new Error(`${DOCS_PAGE} has no section 2`);
  const rows: Row[] = [];
  for (const line of section[1]!.split("\n")) {
    const inner = /^\|(.*)\|\s*$/.exec(line)?.[1];
    const cells = inner?.split("|").map((c) => c.trim());
    if (!cells || cells.length < 2 || /^-+$/.test(cells[0]!) || cells[0] === "folder") continue;
    const folder = /^`([^`]+)`$/.exec(cells[0]!)?.[1];
    if (!folder) throw new Error(`${TABLE_SECTION}: a row's first cell is not one folder in backticks: ${line}`);
    const cell = cells[1]!;
    const row: Row = { folder, imports: [] };
    const rest = cell.replace(/\s*\(re-exports only\)\s*$/, () => {
      row.reexportsOnly = true;
      return "";
    });
    if (rest !== "nothing") {
      for (const entry of rest.split(/,\s*/)) {
        const m = /^`([^`]+)`(?:\s+\((types only|lazy `import\(\)` only)\))?$/.exec(entry.trim());
        if (!m) throw new Error(`${TABLE_SECTION}, row ${folder}: cannot read "${entry}"`);
        row.imports.push(m[2] === undefined ? { folder: m[1]! } : { folder: m[1]!, only: m[2] === "types only" ? "types" : "lazy" });
      }
    }
    rows.push(row);
  }
  return rows;
}

/** How TABLE and the docs table differ, one line per difference. */
export function tableDrift(docs: Row[], table: Row[] = TABLE): string[] {
  const show = (r: Row) => `${r.imports.map(describeAllowed).sort().join(", ") || "nothing"}${r.reexportsOnly ? " (re-exports only)" : ""}`;
  const out: string[] = [];
  for (const r of table) {
    const d = docs.find((x) => x.folder === r.folder);
    if (!d) out.push(`${r.folder}: in scripts/check_boundaries.ts, missing from ${TABLE_SECTION}`);
    else if (show(d) !== show(r)) out.push(`${r.folder}: ${TABLE_SECTION} says ${show(d)}, scripts/check_boundaries.ts says ${show(r)}`);
  }
  for (const d of docs) {
    if (!table.some((r) => r.folder === d.folder)) out.push(`${d.folder}: in ${TABLE_SECTION}, missing from scripts/check_boundaries.ts`);
  }
  return out;
}

export interface Report {
  problems: string[];
  /** The import cycles of src/core/, one line each (each is also a problem). */
  cycles: string[];
}

/** Rule 6: files that import a LAZY_PACKAGES package and that importing mod.ts would load, with the path there. */
function eagerLazyPackages(root: string, imports: Import[]): string[] {
  const problems: string[] = [];
  const code = (f: string) => stripComments(readFileSync(join(root, f), "utf8"));
  for (const file of [...files(root, "src"), ...files(root, "tui")]) {
    const named = packagesOf(code(file)).filter((p) => LAZY_PACKAGES.includes(p));
    if (named.length > 0 && !file.startsWith("src/runtime/")) problems.push(`${file}: names ${named.join(", ")} outside src/runtime/`);
  }
  if (!existsSync(join(root, "mod.ts"))) return problems;
  const via = new Map<string, string>([["mod.ts", "mod.ts"]]);
  const queue = ["mod.ts"];
  for (let k = 0; k < queue.length; k++) {
    const at = queue[k]!;
    const text = code(at);
    const eager = [...text.matchAll(/\b(?:import|export)\s+(?!type\s)[\w*$\s,{}]*?\s*from\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']/g)]
      .map((m) => m[1] ?? m[2]!);
    const named = eager.filter((p) => LAZY_PACKAGES.includes(p));
    if (named.length > 0) problems.push(`${at}: imports ${named.join(", ")}, and mod.ts loads it (${via.get(at)}); load it with import()`);
    for (const i of imports) {
      if (i.from === at && !i.lazy && !i.typeOnly && !via.has(i.to) && existsSync(join(root, i.to))) {
        via.set(i.to, `${i.to} <- ${via.get(at)}`);
        queue.push(i.to);
      }
    }
  }
  return problems;
}

/** Runs every rule on the repository at `root`. */
export function check(root: string, table: Row[] = TABLE): Report {
  const problems: string[] = [];
  const imports: Import[] = [];
  for (const file of [...files(root, "src"), ...files(root, "tui"), ...files(root, "mod.ts")]) {
    const code = stripComments(readFileSync(join(root, file), "utf8"));
    const path = file.split("\\").join("/");
    if (path.startsWith("src/") && !path.startsWith("src/runtime/")) {
      for (const re of RUNTIME_ONLY) if (re.test(code)) problems.push(`${path}: runtime-specific code (${re}) outside src/runtime/`);
    }
    if (path.startsWith("src/protocol/") || path.startsWith("src/core/") || path.startsWith("src/metrics/")) {
      for (const re of PURE_FORBIDDEN) if (re.test(code)) problems.push(`${path}: I/O, clock or randomness (${re}) in a pure layer`);
      for (const pkg of packagesOf(code)) {
        if (!PURE_PACKAGES.includes(pkg)) {
          problems.push(`${path}: imports ${pkg} in a pure layer (it may import only ${PURE_PACKAGES.join(", ")})`);
        }
      }
    }
    if (!rowOf(path, table)) problems.push(`${path}: not in the import table of ${TABLE_SECTION}`);
    const own = importsOf(path, code);
    imports.push(...own);
    for (const imp of own) {
      const wrong = checkImport(imp, table);
      if (wrong) problems.push(wrong);
    }
    if (rowOf(path, table)?.reexportsOnly && notReexports(code) !== "") {
      problems.push(`${path}: holds more than export ... from statements (re-exports only)`);
    }
  }
  const page = join(root, DOCS_PAGE);
  if (existsSync(page)) {
    try {
      problems.push(...tableDrift(tableFromDocs(readFileSync(page, "utf8")), table));
    } catch (e) {
      problems.push((e as Error).message);
    }
  } else {
    problems.push(`${DOCS_PAGE} is missing`);
  }
  problems.push(...eagerLazyPackages(root, imports));
  const cycles = cyclesIn(imports, "src/core/").map((c) => describeCycle(c, imports, "src/core/"));
  problems.push(...cycles.map((c) => `import cycle in src/core/ (type-only imports count): ${c}`));
  return { problems: [...new Set(problems)], cycles };
}

if (import.meta.main) {
  const { problems } = check(fileURLToPath(new URL("..", import.meta.url)));
  if (problems.length > 0) {
    console.error(problems.join("\n"));
    process.exit(1);
  }
  console.log("boundaries ok");
}
