/**
 * Every citation in the repository can be followed in a clone of it: the
 * code, tests, scripts and README cite docs/ by file, section and rule ID
 * (`docs/protocol.md §3.5`, `G21`, `docs/reliability.md b27`, `R3`, `D7`), and
 * each of those must exist. Nothing may point outside the repository.
 *
 * "Defined" means: a table row of a page under docs/ whose first cell is the
 * ID (`| b27 | ...`, the ID optionally in bold), in the page the ID's family
 * belongs to (FAMILIES), and only once. A section `§N` exists when the page
 * has a heading numbered N (`## 3. ...`, `### 3.5 ...`). Goals (D7, F1, M1)
 * are counted as cited only after the word "goal(s)" or "reliability.md",
 * since F1 and the like are also the names of keys.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, relative, resolve } from "node:path";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
const SCANNED = ["README.md", "mod.ts", "src", "tui", "tests", "scripts", "docs"];
const TEXT = /\.(ts|tsx|js|md|sh|c|ya?ml|pl|php|json)$/;

/**
 * Which docs page defines each family of IDs, and how a citation of one is
 * found: the ID itself, or (`list`) a list of IDs after a keyword.
 */
const FAMILIES: { name: string; page: string; id: RegExp; list?: RegExp }[] = [
  { name: "conformance scenario", page: "docs/protocol.md", id: /\bG\d{2}\b/g },
  { name: "bad input", page: "docs/reliability.md", id: /\bb\d{1,2}\b/g },
  { name: "bad-input rule", page: "docs/reliability.md", id: /\bR\d{1,2}\b/g },
  {
    name: "reliability goal",
    page: "docs/reliability.md",
    id: /\b[DFM]\d{1,2}\b/g,
    list: /\b(?:goals?|reliability\.md)\s+[DFM]\d{1,2}(?:(?:,\s*|\s+and\s+|\s*\/\s*)[DFM]\d{1,2})*\b/g,
  },
];

interface Source {
  path: string;
  text: string;
}

function walk(path: string): string[] {
  const full = join(ROOT, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full).flatMap((name) => walk(join(path, name)));
}

const sources: Source[] = SCANNED.flatMap(walk)
  .filter((p) => TEXT.test(p) && p !== SELF)
  .map((path) => ({ path, text: readFileSync(join(ROOT, path), "utf8") }));
const docs = sources.filter((s) => s.path.startsWith("docs/"));
const outside = sources.filter((s) => !s.path.startsWith("docs/"));

/** True when a path (from the repository's root) names something inside the repository. */
function inRepository(path: string): boolean {
  const full = resolve(ROOT, path);
  return full.startsWith(ROOT) && existsSync(full);
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

/** IDs of a family cited in a text, skipping quoted data such as the job name "b1". */
function citedIds(text: string, id: RegExp, list?: RegExp): { id: string; index: number }[] {
  if (list) {
    return [...text.matchAll(list)].flatMap((l) => [...l[0].matchAll(id)].map((m) => ({ id: m[0], index: l.index + m.index })));
  }
  const out: { id: string; index: number }[] = [];
  for (const m of text.matchAll(id)) {
    const before = text[m.index - 1];
    const after = text[m.index + m[0].length];
    if (before !== undefined && before === after && `"'\``.includes(before)) continue;
    out.push({ id: m[0], index: m.index });
  }
  return out;
}

/** IDs defined by the docs pages: the first cell of a table row, per page. */
function definitions(): Map<string, string[]> {
  const defined = new Map<string, string[]>();
  for (const d of docs) {
    for (const m of d.text.matchAll(/^\|\s*\**([A-Za-z]\d{1,2})\**\s*\|/gm)) {
      defined.set(m[1]!, [...(defined.get(m[1]!) ?? []), d.path]);
    }
  }
  return defined;
}

/** Section numbers a page has headings for ("3", "3.5", ...). */
function sections(page: string): Set<string> {
  const text = readFileSync(join(ROOT, page), "utf8");
  return new Set([...text.matchAll(/^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s/gm)].map((m) => m[1]!));
}

const SECTION = String.raw`§\s*\d+(?:\.\d+)*`;
/** A citation: an optional page, then one section or a list (`docs/protocol.md §4.2, §4.5`). */
const CITATION = new RegExp(String.raw`(?:([\w/.-]*?)([\w-]+)\.md\)?\s*)?${SECTION}(?:(?:,\s*|\s+and\s+|\s*\/\s*)${SECTION})*`, "g");

/** Every `§N` citation: outside docs/ as `docs/X.md §N`, inside also `X.md §N` or a bare `§N` (this page). */
function sectionCitations(): { where: string; page: string | undefined; section: string }[] {
  const out: { where: string; page: string | undefined; section: string }[] = [];
  for (const s of sources) {
    const inDocs = s.path.startsWith("docs/");
    for (const m of s.text.matchAll(CITATION)) {
      const where = `${s.path}:${lineOf(s.text, m.index)}`;
      let page: string | undefined;
      if (m[2] === undefined) page = inDocs ? s.path : undefined;
      else if (inDocs) page = `docs/${m[2]}.md`;
      else page = m[1] === "docs/" ? `docs/${m[2]}.md` : undefined;
      for (const n of m[0].matchAll(/§\s*(\d+(?:\.\d+)*)/g)) out.push({ where, page, section: n[1]! });
    }
  }
  return out;
}

describe("docs/ holds every reference the repository cites", () => {
  test("nothing points into a directory outside the repository", () => {
    const outsidePath = "shar" + "ed/";
    const hits = sources.flatMap((s) =>
      [...s.text.matchAll(new RegExp(outsidePath, "g"))].map((m) => `${s.path}:${lineOf(s.text, m.index)}`)
    );
    assert.deepEqual(hits, [], `"${outsidePath}" found; cite docs/ instead`);
  });

  test("the docs pages link nowhere outside the repository", () => {
    const hits = docs.flatMap((s) => [...s.text.matchAll(/https?:\/\//g)].map((m) => `${s.path}:${lineOf(s.text, m.index)}`));
    assert.deepEqual(hits, []);
  });

  test("every Markdown file named outside docs/ exists, so a citation is written docs/X.md", () => {
    const missing: string[] = [];
    for (const s of outside) {
      for (const m of s.text.matchAll(/[\w./-]*[\w-]\.md\b/g)) {
        if (!inRepository(m[0])) missing.push(`${s.path}:${lineOf(s.text, m.index)}: ${m[0]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test("every page, file and folder the docs pages name exists", () => {
    const missing: string[] = [];
    for (const d of docs) {
      for (const m of d.text.matchAll(/\]\(([^)#]+)\)/g)) {
        if (!inRepository(join("docs", m[1]!))) missing.push(`${d.path}:${lineOf(d.text, m.index)}: ${m[1]}`);
      }
      for (const m of d.text.matchAll(/`((?:src|tests|scripts|tui|docs)\/[^`\s]*|mod\.ts)`/g)) {
        if (m[1]!.includes("*")) continue;
        if (!existsSync(join(ROOT, m[1]!))) missing.push(`${d.path}:${lineOf(d.text, m.index)}: ${m[1]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test("docs/README.md links every page of docs/", () => {
    const index = docs.find((d) => d.path === "docs/README.md");
    assert.ok(index, "docs/README.md exists");
    const pages = docs.map((d) => d.path.slice("docs/".length)).filter((p) => p !== "README.md");
    for (const p of pages) assert.ok(index.text.includes(`](${p})`), `docs/README.md links ${p}`);
  });

  test("every cited section exists as a numbered heading of its page", () => {
    const problems: string[] = [];
    const cache = new Map<string, Set<string>>();
    for (const c of sectionCitations()) {
      if (c.page === undefined) {
        problems.push(`${c.where}: §${c.section} does not say which page (write docs/X.md §${c.section})`);
        continue;
      }
      if (!existsSync(join(ROOT, c.page))) {
        problems.push(`${c.where}: ${c.page} does not exist`);
        continue;
      }
      if (!cache.has(c.page)) cache.set(c.page, sections(c.page));
      if (!cache.get(c.page)!.has(c.section)) problems.push(`${c.where}: ${c.page} has no section ${c.section}`);
    }
    assert.deepEqual(problems, []);
  });

  test("every cited rule ID is defined once, in its family's page", () => {
    const defined = definitions();
    const problems: string[] = [];
    for (const [id, pages] of defined) {
      if (pages.length > 1) problems.push(`${id} is defined ${pages.length} times (${pages.join(", ")})`);
    }
    for (const s of sources) {
      for (const f of FAMILIES) {
        for (const c of citedIds(s.text, f.id, f.list)) {
          const pages = defined.get(c.id);
          if (!pages?.includes(f.page)) {
            problems.push(`${s.path}:${lineOf(s.text, c.index)}: ${f.name} ${c.id} is not defined in ${f.page}`);
          }
        }
      }
    }
    assert.deepEqual([...new Set(problems)], []);
  });

  test("the pages define the full ranges the code refers to: G01–G40, b1–b48 and R1–R7", () => {
    const defined = definitions();
    const want = [
      ...Array.from({ length: 40 }, (_, i) => [`G${String(i + 1).padStart(2, "0")}`, "docs/protocol.md"]),
      ...Array.from({ length: 48 }, (_, i) => [`b${i + 1}`, "docs/reliability.md"]),
      ...Array.from({ length: 7 }, (_, i) => [`R${i + 1}`, "docs/reliability.md"]),
    ];
    const missing = want.filter(([id, page]) => !defined.get(id!)?.includes(page!)).map(([id]) => id);
    assert.deepEqual(missing, []);
  });
});
