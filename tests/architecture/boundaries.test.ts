/**
 * The import rules of docs/architecture.md §2 hold, and scripts/check_boundaries.ts can tell when
 * they do not: each rule is broken on purpose in a small tree made for the test, and the check
 * must name the file.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT } from "../helpers/servers.ts";
import {
  check,
  cyclesIn,
  DOCS_PAGE,
  importsOf,
  packagesOf,
  PURE_PACKAGES,
  TABLE,
  tableDrift,
  tableFromDocs,
} from "../../scripts/check_boundaries.ts";

const docsPage = readFileSync(join(ROOT, DOCS_PAGE), "utf8");
const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A tree with the real docs page and the given files, nothing else. */
function tree(files: Record<string, string>, page = docsPage): string {
  const root = mkdtempSync(join(tmpdir(), "gearbox-boundaries-"));
  scratch.push(root);
  for (const [path, text] of Object.entries({ [DOCS_PAGE]: page, ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("the import rules of docs/architecture.md §2", () => {
  test("hold on every file under src/ and tui/ and on mod.ts", () => {
    const r = spawnSync(process.execPath, ["scripts/check_boundaries.ts"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /boundaries ok/);
  });

  test("are one table, the same in scripts/check_boundaries.ts and in docs/architecture.md §2", () => {
    const docs = tableFromDocs(docsPage);
    assert.deepEqual(tableDrift(docs), []);
    assert.deepEqual(docs.map((r) => r.folder), TABLE.map((r) => r.folder));
  });

  test("a clean tree passes, with a type-only import of the protocol from tui/ and a lazy import of tui/ from src/cli/", () => {
    const root = tree({
      "src/protocol/frame.ts": "export type Frame = { code: number };\n",
      "src/client/client.ts": 'import type { Frame } from "../protocol/frame.ts";\nexport const client = (f: Frame) => f;\n',
      "tui/data/sources.ts":
        'import type { Frame } from "../../src/protocol/frame.ts";\nimport { client } from "../../src/client/client.ts";\n',
      "tui/main.tsx": "export const main = 1;\n",
      "src/cli/top.ts": 'export const top = () => import("../../tui/main.tsx");\n',
      "mod.ts": '/** The public face. */\nexport { client } from "./src/client/client.ts";\n',
    });
    assert.deepEqual(check(root).problems, []);
  });

  test("an import against the table is reported, also from a subfolder of tui/, and types or lazy only where the table says so", () => {
    const root = tree({
      "src/core/job_server.ts": 'import { serve } from "../server/server.ts";\nexport class JobServer {}\n',
      "src/server/server.ts": "export const serve = 1;\n",
      "src/protocol/decoder.ts": "export const decode = 1;\n",
      "tui/components/panel.tsx": 'import type { JobServer } from "../../src/core/job_server.ts";\n',
      "tui/data/sources.ts": 'import { decode } from "../../src/protocol/decoder.ts";\n',
      "tui/main.tsx": "export const main = 1;\n",
      "src/cli/top.ts": 'import { main } from "../../tui/main.tsx";\n',
      "src/log/logger.ts": 'import {\n  type Row,\n  run,\n} from "../../scripts/tool.ts";\n',
      "src/extra/thing.ts": "export const thing = 1;\n",
    });
    const problems = check(root).problems;
    const files = problems.map((p) => p.slice(0, p.indexOf(":")));
    assert.deepEqual(files.sort(), [
      "src/cli/top.ts",
      "src/core/job_server.ts",
      "src/extra/thing.ts",
      "src/log/logger.ts",
      "tui/components/panel.tsx",
      "tui/data/sources.ts",
    ]);
    assert.ok(
      problems.some((p) => /^tui\/data\/sources\.ts: imports src\/protocol\/decoder\.ts .*types only/.test(p)),
      problems.join("\n"),
    );
    assert.ok(problems.some((p) => /^src\/log\/logger\.ts: imports scripts\/tool\.ts, which is outside/.test(p)), problems.join("\n"));
  });

  test("runtime-specific code outside src/runtime/ and a clock in src/core/ are reported", () => {
    const root = tree({
      "src/client/dial.ts": 'import { connect } from "node:net";\n',
      "src/core/deadline.ts": "export const now = () => Date.now();\n",
      "src/runtime/net.ts": 'import { connect } from "node:net";\nexport const bun = typeof Bun;\n',
    });
    assert.deepEqual(check(root).problems.map((p) => p.slice(0, p.indexOf(":"))), ["src/client/dial.ts", "src/core/deadline.ts"]);
  });

  test("the PostgreSQL driver named outside src/runtime/, or loaded by importing mod.ts, is reported; a lazy import() of its adapter is not", () => {
    const adapter = 'import postgres from "postgres";\nexport const open = () => postgres;\n';
    const lazy = 'export async function open() {\n  return (await import("../runtime/pg.ts")).open();\n}\n';
    const files = {
      "mod.ts": 'export { open } from "./src/store/pg_store.ts";\n',
      "src/runtime/pg.ts": adapter,
      "src/server/direct.ts": 'import postgres from "postgres";\nexport const x = postgres;\n',
    };
    assert.deepEqual(check(tree({ ...files, "src/store/pg_store.ts": lazy })).problems, [
      "src/server/direct.ts: names postgres outside src/runtime/",
    ]);
    const eager = 'export { open } from "../runtime/pg.ts";\n';
    assert.deepEqual(check(tree({ ...files, "src/store/pg_store.ts": eager })).problems, [
      "src/server/direct.ts: names postgres outside src/runtime/",
      "src/runtime/pg.ts: imports postgres, and mod.ts loads it (src/runtime/pg.ts <- src/store/pg_store.ts <- mod.ts); load it with import()",
    ]);
  });

  test("mod.ts holding anything but re-exports is reported", () => {
    const root = tree({
      "src/client/client.ts": "export const client = 1;\n",
      "mod.ts": 'import { client } from "./src/client/client.ts";\nexport const twice = client * 2;\n',
    });
    assert.deepEqual(check(root).problems, ["mod.ts: holds more than export ... from statements (re-exports only)"]);
  });

  test("a row changed in docs/architecture.md alone is reported as drift", () => {
    const changed = docsPage.replace(
      "| `src/client/` | `src/protocol/`, `src/runtime/` |",
      "| `src/client/` | `src/protocol/`, `src/runtime/`, `src/core/` |",
    );
    assert.notEqual(changed, docsPage, "the client row is where the test expects it");
    const problems = check(tree({}, changed)).problems;
    assert.equal(problems.length, 1, problems.join("\n"));
    const said = "src/client/: docs/architecture.md §2 says src/core/, src/protocol/, src/runtime/, scripts/check_boundaries.ts says";
    assert.ok(problems[0]!.startsWith(said), problems[0]);
  });

  test("import cycles in src/core/ are found through type-only imports, each once", () => {
    const root = tree({
      "src/core/job_server.ts": 'import { grab } from "./worker_requests.ts";\nimport { submit } from "./client_requests.ts";\n',
      "src/core/worker_requests.ts": 'import type { JobServer } from "./job_server.ts";\nexport const grab = 1;\n',
      "src/core/client_requests.ts": 'import { type JobServer } from "./job_server.ts";\nexport const submit = 1;\n',
      "src/core/job.ts": "export type Job = {};\n",
    });
    assert.deepEqual(check(root).cycles, [
      "client_requests.ts -type-> job_server.ts -> client_requests.ts",
      "job_server.ts -> worker_requests.ts -type-> job_server.ts",
    ]);
    assert.deepEqual(cyclesIn(importsOf("src/core/job.ts", ""), "src/core/"), []);
  });

  test("an import cycle in src/core/ fails the check, a type-only one too", () => {
    const root = tree({
      "src/core/job.ts": 'import type { Peer } from "./peer.ts";\nexport type Job = { worker: Peer };\n',
      "src/core/peer.ts": 'import type { Job } from "./job.ts";\nexport type Peer = { holding: Job[] };\n',
    });
    assert.deepEqual(check(root).problems, ["import cycle in src/core/ (type-only imports count): job.ts -type-> peer.ts -type-> job.ts"]);
  });

  test("the tree has no import cycle in src/core/", () => {
    assert.deepEqual(check(ROOT).cycles, []);
  });

  test("src/core/ and src/protocol/ import no package that does I/O: only those of PURE_PACKAGES, however imported", () => {
    const root = tree({
      "src/core/hash.ts": 'import { createHash } from "node:crypto";\nimport { Buffer } from "node:buffer";\n',
      "src/core/file.ts": 'import { readFileSync } from "node:fs";\n',
      "src/core/stream.ts": 'export { Readable } from "node:stream";\n',
      "src/protocol/late.ts": 'export const dns = () => import("node:dns");\n',
      "src/protocol/side.ts": 'import "node:worker_threads";\n',
    });
    assert.deepEqual(check(root).problems, [
      "src/core/file.ts: imports node:fs in a pure layer (it may import only node:buffer, node:crypto)",
      "src/core/stream.ts: imports node:stream in a pure layer (it may import only node:buffer, node:crypto)",
      "src/protocol/late.ts: imports node:dns in a pure layer (it may import only node:buffer, node:crypto)",
      "src/protocol/side.ts: imports node:worker_threads in a pure layer (it may import only node:buffer, node:crypto)",
    ]);
    assert.deepEqual(packagesOf('import type { A } from "./a.ts";\nimport x, { y } from "pkg";\n'), ["pkg"]);
    assert.deepEqual([...PURE_PACKAGES], ["node:buffer", "node:crypto"]);
  });
});
