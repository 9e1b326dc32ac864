/**
 * The README's library example is code people will paste: it must run as
 * written, under Bun and under Deno, against a real gearbox server (only the
 * address and the import path are adapted).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, type RunningServer, startGearbox } from "../helpers/servers.ts";

const BUN = `${ROOT}node_modules/.bin/bun`;
const DENO = `${ROOT}node_modules/.bin/deno`;

function readmeExample(): string {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const block = /```ts\n(import \{ AdminClient, Client, Worker \} from "\.\/mod\.ts";[\s\S]*?)```/.exec(readme);
  assert.ok(block, "README has the library example");
  return block[1]!;
}

describe("the README's library example", () => {
  let server: RunningServer;
  let dir: string;
  let file: string;
  before(async () => {
    server = await startGearbox();
    dir = mkdtempSync(join(tmpdir(), "gearbox-example-"));
    file = join(dir, "example.ts");
    writeFileSync(
      file,
      readmeExample().replace('"./mod.ts"', JSON.stringify(`${ROOT}mod.ts`)).replace("127.0.0.1:4730", `127.0.0.1:${server.port}`),
    );
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [runtime, argv] of [["bun", [BUN, "FILE"]], ["deno", [DENO, "run", "-A", "FILE"]]] as const) {
    test(`runs as written under ${runtime}`, { skip: existsSync(argv[0]) ? false : `${runtime} is not installed (npm install)` }, () => {
      const r = spawnSync(argv[0], argv.slice(1).map((a) => a === "FILE" ? file : a), { encoding: "utf8", timeout: 30_000, cwd: ROOT });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /COMPLETE olleh \[ "working\.\.\. " \]/);
      assert.match(r.stdout, /reverse/);
    });
  }
});
