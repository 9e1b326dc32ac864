import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, haveCommand } from "../helpers/servers.ts";
import { startGearbox } from "../helpers/servers.ts";
import { roundTrip } from "../helpers/round_trip.ts";
import { statusOf } from "../helpers/peers.ts";
import { waitUntil } from "../helpers/wait.ts";
import { tempDirs } from "../helpers/temp_dir.ts";
import { freePort, waitForPort } from "../helpers/free_port.ts";

const tempDir = tempDirs();

const built = existsSync(BINARY);
const skip = built ? false : "dist/gearbox is not built (npm run build)";

function run(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return spawnSync(BINARY, args, { encoding: "utf8", timeout: 10_000, cwd: options.cwd, env: { ...process.env, ...options.env } });
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

  test("serve runs with freed memory kept mapped 10 s and holes in used pages kept (the same process, started again in place), unless the environment says otherwise", async () => {
    const allocatorSettings = async (env: Record<string, string>) => {
      const port = await freePort();
      const child = spawn(BINARY, ["serve", "--port", String(port), "--store", "memory:", "--log-level", "warn"], {
        stdio: "ignore",
        env: { ...process.env, ...env },
      });
      try {
        await waitForPort(port, 15_000);
        const environ = readFileSync(`/proc/${child.pid}/environ`, "latin1").split("\0");
        await roundTrip(port);
        return environ.filter((v) => v.startsWith("MIMALLOC_PURGE_")).sort().join(" ");
      } finally {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    };
    assert.equal(
      await allocatorSettings({}),
      "MIMALLOC_PURGE_DELAY=10000 MIMALLOC_PURGE_HOLES=0",
      "set, in the very process that was started",
    );
    assert.equal(
      await allocatorSettings({ MIMALLOC_PURGE_DELAY: "10" }),
      "MIMALLOC_PURGE_DELAY=10 MIMALLOC_PURGE_HOLES=0",
      "a value in the environment is kept, the other one set",
    );
    assert.equal(
      await allocatorSettings({ MIMALLOC_PURGE_DELAY: "10", MIMALLOC_PURGE_HOLES: "1" }),
      "MIMALLOC_PURGE_DELAY=10 MIMALLOC_PURGE_HOLES=1",
      "both kept: no start again",
    );
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

  test(
    "serves the libgearman gearman tool in client and worker mode",
    { skip: haveCommand("gearman") ? false : "gearman not installed" },
    async () => {
      const server = await startGearbox();
      try {
        const { spawn } = await import("node:child_process");
        const worker = spawn("gearman", ["-p", String(server.port), "-w", "-f", "upper", "-c", "1", "--", "tr", "a-z", "A-Z"]);
        await waitUntil("the gearman worker registered", async () => (await statusOf(server.port, "upper")).workers === 1);
        const client = spawnSync("gearman", ["-p", String(server.port), "-f", "upper", "shout"], { encoding: "utf8", timeout: 10_000 });
        assert.equal(client.stdout, "SHOUT");
        await new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      } finally {
        await server.stop();
      }
    },
  );

  test("refuses a bad flag value naming the flag, with exit code 78 (configuration)", () => {
    const r = run(["serve", "--port", "99999"]);
    assert.equal(r.status, 78);
    assert.match(r.stderr, /port must be between 0 and 65535/);
  });

  test("refuses an unknown config key naming the file and the key", () => {
    const dir = tempDir("gearbox-");
    const file = join(dir, "serve.yaml");
    writeFileSync(file, "port: 5000\nmax_packet_sise: 10\n");
    const r = run(["serve", "--config", file]);
    assert.equal(r.status, 78);
    assert.match(r.stderr, new RegExp(`${file}: unknown setting "max_packet_sise"`));
  });

  test("says when the port is already taken, exits 1 and leaves no store file behind", async () => {
    const server = await startGearbox();
    const dir = tempDir("gearbox-busy-");
    try {
      const r = run(["serve", "--port", String(server.port), "--log-level", "silent"], { cwd: dir });
      assert.equal(r.status, 1);
      assert.equal(r.stderr.trim(), `gearbox serve: 127.0.0.1:${server.port} is already in use`);
      assert.deepEqual(readdirSync(dir), [], "the default gearbox.db was created and left behind");
    } finally {
      await server.stop();
    }
  });

  test("every subcommand exits 64 for a command line it cannot parse, before it contacts anything", () => {
    const commands = [
      "serve",
      "drive",
      "submit f",
      "work f -- cat",
      "status",
      "workers",
      "admin version",
      "jobs list",
      "store check x.db",
      "top",
    ];
    for (const c of commands) {
      const [sub, ...rest] = c.split(" ");
      const r = run([sub!, "--no-such-flag", ...rest]);
      assert.equal(r.status, 64, `${c}: ${r.stderr}`);
      assert.match(r.stderr, /unknown option '--no-such-flag'/, c);
    }
    const unknown = run(["no-such-command"]);
    assert.equal(unknown.status, 64, unknown.stderr);
  });

  test("a bad setting in a file, the environment or a flag exits 78, for serve and drive alike", () => {
    const dir = tempDir("gearbox-config-");
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "interval: soon\nport: soon\n");
    const cases: [string[], Record<string, string>][] = [
      [["serve", "--config", file], {}],
      [["serve"], { GEARBOX_WAKEUP: "many" }],
      [["drive", "--config", file], {}],
      [["drive", "--interval", "-3"], {}],
    ];
    for (const [args, env] of cases) {
      const r = run(args, { cwd: dir, env });
      assert.equal(r.status, 78, `${args.join(" ")} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^gearbox ${args[0]}: `), r.stderr);
    }
    assert.deepEqual(readdirSync(dir), ["bad.yaml"], "no store file created by a command that failed before serving");
  });

  test("a client command names itself and the unreachable server once", async () => {
    const { freePort } = await import("../helpers/free_port.ts");
    const port = await freePort();
    for (const c of ["status", "workers", "admin", "jobs"]) {
      const args = c === "admin" ? ["admin", "version"] : c === "jobs" ? ["jobs", "list"] : [c];
      const r = run([...args, "-s", `127.0.0.1:${port}`]);
      assert.equal(r.status, 2, `${c}: ${r.stderr}`);
      assert.equal(r.stderr.trim(), `gearbox ${c}: 127.0.0.1:${port}: connection refused (is the server running?)`);
    }
  });
});
