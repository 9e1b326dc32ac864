import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, haveCommand } from "../helpers/servers.ts";
import { startGearbox } from "../helpers/servers.ts";
import { roundTrip } from "../helpers/round_trip.ts";

const built = existsSync(BINARY);
const skip = built ? false : "dist/gearbox is not built (npm run build)";

function run(args: string[]) {
  return spawnSync(BINARY, args, { encoding: "utf8", timeout: 10_000 });
}

describe("the compiled binary", { skip }, () => {
  test("prints its version and help without a runtime installed", () => {
    const v = run(["--version"]);
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
    const h = run(["--help"]);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /Usage: gearbox/);
    assert.match(h.stdout, /serve/);
    const s = run(["serve", "--help"]);
    assert.match(s.stdout, /--max-packet-size/);
  });

  test("serves a real client and worker round trip", async () => {
    const server = await startGearbox();
    try {
      assert.equal(server.process.spawnfile, BINARY);
      await roundTrip(server.port);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test("serves the libgearman gearman tool in client and worker mode", { skip: haveCommand("gearman") ? false : "gearman not installed" }, async () => {
    const server = await startGearbox();
    try {
      const { spawn } = await import("node:child_process");
      const worker = spawn("gearman", ["-p", String(server.port), "-w", "-f", "upper", "-c", "1", "--", "tr", "a-z", "A-Z"]);
      await new Promise((r) => setTimeout(r, 300));
      const client = spawnSync("gearman", ["-p", String(server.port), "-f", "upper", "shout"], { encoding: "utf8", timeout: 10_000 });
      assert.equal(client.stdout, "SHOUT");
      await new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    } finally {
      await server.stop();
    }
  });

  test("refuses a bad flag value naming the flag, with exit code 2", () => {
    const r = run(["serve", "--port", "99999"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /port must be between 0 and 65535/);
  });

  test("refuses an unknown config key naming the file and the key", () => {
    const dir = mkdtempSync(join(tmpdir(), "gearbox-"));
    const file = join(dir, "serve.yaml");
    writeFileSync(file, "port: 5000\nmax_packet_sise: 10\n");
    const r = run(["serve", "--config", file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`${file}: unknown setting "max_packet_sise"`));
  });

  test("says when the port is already taken and exits 1", async () => {
    const server = await startGearbox();
    try {
      const r = run(["serve", "--port", String(server.port), "--log-level", "silent", "--store", "memory:"]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /is already in use/);
    } finally {
      await server.stop();
    }
  });
});
