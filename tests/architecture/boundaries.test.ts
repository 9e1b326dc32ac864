import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { ROOT } from "../helpers/servers.ts";

test("only src/runtime/ touches the runtime, and protocol/ and core/ stay pure", () => {
  const r = spawnSync(process.execPath, ["scripts/check_boundaries.ts"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});
