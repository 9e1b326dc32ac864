/**
 * No accidental exposure for `gearbox drive`'s console: on an address other
 * hosts can reach it needs console_token (or console_insecure, which warns).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { DRIVE_DEFAULTS, type DriveSettings } from "../../src/config/drive_options.ts";
import { Supervisor } from "../../src/driver/driver.ts";
import { Logger } from "../../src/log/logger.ts";
import { createServer } from "../../src/server/server.ts";
import { consoleCommand } from "../helpers/drive.ts";
import { gearboxCommand } from "../helpers/servers.ts";
import { connect as connectTls } from "node:tls";
import { readFileSync } from "node:fs";
import { makeCerts } from "../helpers/certs.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

/** One console command over TLS; the reply's lines before the closing `.`. */
function tlsConsoleCommand(port: number, ca: string, command: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connectTls(
      { port, host: "127.0.0.1", servername: "localhost", ca: readFileSync(ca) },
      () => socket.write(command + "\n"),
    );
    let text = "";
    socket.on("data", (d: Uint8Array) => {
      text += d.toString();
      const end = text.indexOf("\n.\n");
      if (text === ".\n" || end !== -1) {
        socket.end();
        resolve(text === ".\n" ? [] : text.slice(0, end).split("\n"));
      }
    });
    socket.on("error", reject);
  });
}

async function withDriver(extra: Partial<DriveSettings>, fn: (driver: Supervisor, logs: string[]) => Promise<void>): Promise<void> {
  const server = createServer({ store: "memory:", port: 0, logLevel: "silent" });
  await server.start();
  const logs: string[] = [];
  const settings = { ...DRIVE_DEFAULTS, server: [`127.0.0.1:${server.port}`], consolePort: "auto" as const, ...extra };
  const driver = new Supervisor({ settings, jobs: [], logger: new Logger({ level: "info", format: "text", write: (l) => logs.push(l) }) });
  try {
    await driver.start();
    await fn(driver, logs);
  } finally {
    await driver.stop();
    await server.stop();
  }
}

describe("gearbox drive: no accidental exposure of the console", () => {
  test("a console on 0.0.0.0 without a token exits 78 saying how to do it safely", () => {
    const [cmd, ...pre] = gearboxCommand();
    const run = spawnSync(cmd!, [...pre, "drive", "--server", "127.0.0.1:9", "--console-host", "0.0.0.0"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(run.status, 78, run.stderr);
    assert.match(run.stderr, /console_host 0\.0\.0\.0 is reachable from other hosts/);
    assert.match(run.stderr, /--console-token TOKEN/);
    assert.match(run.stderr, /--console-insecure/);
  });

  test("the Supervisor refuses it too, and a console that is off or on loopback needs nothing", () => {
    const base = { ...DRIVE_DEFAULTS, consoleHost: "::" };
    const silent = () => new Logger({ level: "silent", format: "text" });
    assert.throws(
      () => new Supervisor({ settings: base, jobs: [], logger: silent() }),
      /console_host :: is reachable/,
    );
    new Supervisor({ settings: { ...base, consolePort: 0 }, jobs: [], logger: silent() });
    new Supervisor({ settings: { ...base, consoleHost: "127.0.0.1" }, jobs: [], logger: silent() });
  });

  test("with a token a console on 0.0.0.0 starts, asks for the token, and logs no warning", async () => {
    await withDriver({ consoleHost: "0.0.0.0", consoleToken: "s3cret" }, async (driver, logs) => {
      const port = driver.consolePort!;
      assert.ok(port > 0);
      assert.deepEqual(await consoleCommand(port, "status"), ["ERR auth_required: send `auth TOKEN` first"]);
      const status = await consoleCommand(port, "status", "s3cret");
      assert.ok(!status.some((l) => l.startsWith("ERR")), status.join("\n"));
      assert.equal(logs.filter((l) => l.includes("WARN")).length, 0, logs.join("\n"));
    });
  });

  test("with TLS a console on 0.0.0.0 starts without a token or a warning and answers over TLS", async () => {
    const certs = makeCerts(tempDir("gearbox-console-tls-"));
    await withDriver({ consoleHost: "0.0.0.0", consoleTlsCert: certs.serverCert, consoleTlsKey: certs.serverKey }, async (driver, logs) => {
      const help = await tlsConsoleCommand(driver.consolePort!, certs.ca, "help");
      assert.ok(help.some((l) => l.startsWith("status")), help.join("\n"));
      assert.equal(logs.filter((l) => l.includes("WARN")).length, 0, logs.join("\n"));
    });
  });

  test("console_tls_cert without console_tls_key is refused naming it", () => {
    const settings = { ...DRIVE_DEFAULTS, consoleTlsCert: "c.pem" };
    assert.throws(
      () => new Supervisor({ settings, jobs: [], logger: new Logger({ level: "silent", format: "text" }) }),
      /console_tls_cert and console_tls_key go together: console_tls_cert is set alone/,
    );
  });

  test("console_insecure starts a console on 0.0.0.0 without a token and warns", async () => {
    await withDriver({ consoleHost: "0.0.0.0", consoleInsecure: true }, async (driver, logs) => {
      const status = await consoleCommand(driver.consolePort!, "status");
      assert.ok(!status.some((l) => l.startsWith("ERR")), status.join("\n"));
      assert.ok(logs.some((l) => /WARN.*the console on 0\.0\.0\.0 has no token/.test(l)), logs.join("\n"));
    });
  });
});
