/**
 * The README followed literally, as a new user would: a fresh clone of this
 * repository, then every fenced shell command of the quick start, the
 * stock-tools example and the build step, and the library example saved as
 * `example.ts` and run with `npx bun` and `npx deno`. Blocks are found by
 * their `<!-- readme-walkthrough: NAME -->` marker; a `# → TEXT` comment on a
 * line is what its output must contain.
 *
 * The README's server listens on 127.0.0.1:4730, a port tests never use on
 * the machine's own network: the walkthrough runs in a network namespace of
 * its own (`unshare --net`, root only), where 4730 is private and nothing
 * else can reach. `npm install` needs the registry, so the clone is
 * installed before entering the namespace; the quick start's literal
 * `npm install && npm start` then finds everything in place. `npm test` is
 * the one command not run: it is what runs this test.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { haveCommand, ROOT } from "../helpers/servers.ts";

/** The fenced block after `<!-- readme-walkthrough: NAME -->`, with its language. */
export function walkthroughBlock(readme: string, name: string): { lang: string; body: string } {
  const m = new RegExp(`<!-- readme-walkthrough: ${name} -->\\n\`\`\`(\\w+)\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README has no walkthrough block "${name}"`);
  return { lang: m[1]!, body: m[2]! };
}

/** A shell line and the text its output must contain (`# → TEXT`), if it says. */
export function shellSteps(body: string): { command: string; expect?: string }[] {
  return body.split("\n").filter((l) => l.trim() !== "").map((line) => {
    const hash = line.search(/\s#\s/);
    const command = (hash === -1 ? line : line.slice(0, hash)).trim();
    const arrow = /#\s*→\s*(.*)$/.exec(line);
    return arrow ? { command, expect: arrow[1]!.trim() } : { command };
  });
}

const isRoot = process.getuid?.() === 0;
const skip = !isRoot
  ? "needs root for a private network namespace (unshare --net), where the README's port 4730 is safe to use"
  : !haveCommand("unshare") || !haveCommand("ip")
  ? "unshare and ip (util-linux, iproute2) are not installed"
  : !haveCommand("git")
  ? "git is not installed"
  : !haveCommand("gearman") || !haveCommand("gearadmin")
  ? "gearman-tools (gearman, gearadmin) are not installed"
  : false;

describe("the README followed literally on a fresh clone", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "gearbox-readme-"));
  const clone = join(dir, "gearbox");
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the quick start, the stock tools, the build and the library example run as written", { timeout: 600_000 }, () => {
    const git = spawnSync("git", ["clone", "--quiet", ROOT, clone], { encoding: "utf8" });
    assert.equal(git.status, 0, git.stderr);
    const readme = readFileSync(join(clone, "README.md"), "utf8");
    const quick = shellSteps(walkthroughBlock(readme, "quick-start").body);
    const stock = shellSteps(walkthroughBlock(readme, "stock-tools").body);
    const build = shellSteps(walkthroughBlock(readme, "build").body);
    const library = walkthroughBlock(readme, "library");
    assert.equal(library.lang, "ts");
    assert.deepEqual(quick.map((s) => s.command), ["npm install && npm start", "npm test"], "the quick start is exactly two commands");

    // With the network, before the namespace: the registry is reachable only here.
    const install = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: clone,
      encoding: "utf8",
      timeout: 300_000,
    });
    assert.equal(install.status, 0, install.stderr);
    writeFileSync(join(clone, "example.ts"), library.body);

    const steps = [...stock, ...build, { command: "npx bun example.ts", expect: "COMPLETE olleh" }, {
      command: "npx deno run -A example.ts",
      expect: "COMPLETE olleh",
    }];
    const script = [
      "set -u",
      "ip link set lo up",
      // The quick start's first command, as written; the server runs until the end.
      `setsid bash -c ${JSON.stringify(`${quick[0]!.command} > npm-start.log 2>&1`)} &`,
      "starter=$!",
      // Not a job of this shell: the README's `wait` (for its own background worker) must not wait for the server.
      "disown $starter",
      "for i in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/4730) 2>/dev/null && break; sleep 0.1; done",
      ...steps.map((s, i) => `${s.command.endsWith("&") ? s.command : `{ ${s.command}; } > out.${i} 2>&1; echo $? > status.${i}`}`),
      "kill -TERM -- -$starter 2>/dev/null; wait $starter 2>/dev/null",
      "true",
    ].join("\n");
    writeFileSync(join(clone, "walkthrough.sh"), script);
    const run = spawnSync("unshare", ["--net", "bash", "walkthrough.sh"], { cwd: clone, encoding: "utf8", timeout: 240_000 });
    const log = existsSync(join(clone, "npm-start.log")) ? readFileSync(join(clone, "npm-start.log"), "utf8") : "";
    assert.match(log, /listening/, `npm start did not listen:\n${log}\n${run.stderr}`);
    steps.forEach((s, i) => {
      if (s.command.endsWith("&")) return;
      const out = existsSync(join(clone, `out.${i}`)) ? readFileSync(join(clone, `out.${i}`), "utf8") : "(no output file)";
      const status = existsSync(join(clone, `status.${i}`)) ? readFileSync(join(clone, `status.${i}`), "utf8").trim() : "(did not run)";
      assert.equal(status, "0", `\`${s.command}\` exited ${status}:\n${out}`);
      if (s.expect !== undefined) {
        assert.ok(out.includes(s.expect), `\`${s.command}\` should print ${JSON.stringify(s.expect)}, printed:\n${out}`);
      }
    });
  });
});
