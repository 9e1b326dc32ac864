/**
 * Enforces the size rule of docs/architecture.md §5: no `.ts`/`.tsx` file under `src/` or `tui/`
 * over {@link MAX_FILE_LINES} lines, and no function in them (declarations, methods, accessors,
 * constructors, function expressions, arrow functions, so React components too) over
 * {@link MAX_FUNCTION_LINES} lines, from the line its code starts on (doc comment excluded) to
 * its closing line. The extents come from the TypeScript compiler's own parser (its API runs the
 * compiler of the `typescript` devDependency as a child process). Exits 1 with one line per
 * violation; `npm run check` runs it.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { API } from "typescript/unstable/async";
import { type Node, type SourceFile, SyntaxKind } from "typescript/unstable/ast";

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 60;

/** One function's extent in a file, 1-based lines. */
export interface FunctionExtent {
  name: string;
  line: number;
  lines: number;
}

const FUNCTION_KINDS = new Set<SyntaxKind>([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
]);

/** The name a report gives a function: its own, or the variable, property or class member it is assigned to. */
function nameOf(node: Node, file: SourceFile): string {
  const own = (node as { name?: Node }).name;
  if (own) return own.getText(file);
  if (node.kind === SyntaxKind.Constructor) return "constructor";
  const parent = node.parent as (Node & { name?: Node }) | undefined;
  if (
    parent?.name &&
    (parent.kind === SyntaxKind.VariableDeclaration || parent.kind === SyntaxKind.PropertyAssignment ||
      parent.kind === SyntaxKind.PropertyDeclaration)
  ) {
    return parent.name.getText(file);
  }
  return "(anonymous)";
}

/** Every function of a parsed file with its length in lines. */
export function functionExtents(file: SourceFile): FunctionExtent[] {
  const out: FunctionExtent[] = [];
  const visit = (node: Node): void => {
    if (FUNCTION_KINDS.has(node.kind) && (node as { body?: Node }).body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.end).line;
      out.push({ name: nameOf(node, file), line: first + 1, lines: last - first + 1 });
    }
    node.forEachChild(visit);
  };
  file.forEachChild(visit);
  return out;
}

/** A file's length as an editor counts it: its lines, a final newline ending the last one. */
export function lineCount(text: string): number {
  if (text === "") return 0;
  const newlines = text.split("\n").length - 1;
  return text.endsWith("\n") ? newlines : newlines + 1;
}

/** The violations of the size rule among the project's files under `src/` and `tui/`. */
export async function check(root: string): Promise<string[]> {
  const api = new API({ cwd: root });
  try {
    const snapshot = await api.updateSnapshot({ openProject: "tsconfig.json" });
    const program = snapshot.getProjects()[0]!.program;
    const names = (await program.getSourceFileNames())
      .map((name) => ({ name, path: relative(root, name).split("\\").join("/") }))
      .filter(({ path }) => /^(src|tui)\/.*\.tsx?$/.test(path))
      .sort((a, b) => (a.path < b.path ? -1 : 1));
    const problems: string[] = [];
    for (const { name, path } of names) {
      const lines = lineCount(readFileSync(name, "utf8"));
      if (lines > MAX_FILE_LINES) problems.push(`${path}: ${lines} lines (at most ${MAX_FILE_LINES})`);
      const file = await program.getSourceFile(name);
      if (!file) {
        problems.push(`${path}: the compiler did not parse it`);
        continue;
      }
      for (const f of functionExtents(file)) {
        if (f.lines > MAX_FUNCTION_LINES) problems.push(`${path}:${f.line}: ${f.name} is ${f.lines} lines (at most ${MAX_FUNCTION_LINES})`);
      }
    }
    if (names.length === 0) problems.push("no file of src/ or tui/ in the project of tsconfig.json");
    return problems;
  } finally {
    await api.close();
  }
}

if (import.meta.main) {
  const problems = await check(fileURLToPath(new URL("..", import.meta.url)));
  if (problems.length > 0) {
    console.error(problems.join("\n"));
    process.exit(1);
  }
  console.log("sizes ok");
}
