/**
 * docs/reliability.md b39, the part the in-process tests cannot reach: a
 * connection flood past the process's file-descriptor limit (EMFILE), not
 * just past max_connections. gearbox runs as its own process under
 * `ulimit -n 64` with max_connections left above that, so accept() itself
 * fails. Expected: "EMFILE handled with backoff and one log line per
 * interval; existing clients keep working" — no busy accept loop.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { Cmd } from "../../src/protocol/commands.ts";
import { freePort, waitForPort } from "../helpers/free_port.ts";
import { RawConn } from "../helpers/raw_conn.ts";

import { gearboxCommand } from "../helpers/servers.ts";
import { sleep } from "../helpers/wait.ts";

/** CPU time (user + system) of a process in seconds, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

test(
  "b39: a connection flood past the fd limit (EMFILE) does not spin the CPU, is logged but not per failure, and existing clients keep working",
  { timeout: 30_000 },
  async () => {
    const port = await freePort();
    const cmd = [
      ...gearboxCommand(),
      "serve",
      "--port",
      String(port),
      "--listen",
      "127.0.0.1",
      "--store",
      "memory:",
      "--log-level",
      "info",
      "--max-connections",
      "1000",
    ]
      .map((a) => `'${a}'`).join(" ");
    const child = spawn("sh", ["-c", `ulimit -n 64 && exec ${cmd}`], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d.toString()));
    const flood: Socket[] = [];
    try {
      await waitForPort(port, 15_000);
      const keep = await RawConn.connect(port);
      keep.sendPacket(Cmd.ECHO_REQ, "before");
      await keep.expectPacket(Cmd.ECHO_RES, 1000);
      const logBefore = stderr.split("\n").length;

      for (let i = 0; i < 200; i++) {
        const s = connect({ port, host: "127.0.0.1" });
        s.on("error", () => {});
        flood.push(s);
      }
      await sleep(500);
      const cpu0 = cpuSeconds(child.pid!);
      await sleep(2000);
      const busy = (cpuSeconds(child.pid!) - cpu0) / 2;

      const t0 = performance.now();
      keep.sendPacket(Cmd.ECHO_REQ, "during");
      assert.equal((await keep.expectPacket(Cmd.ECHO_RES, 1000)).body.toString(), "during", "an existing client is still served");
      const echoMs = performance.now() - t0;

      for (const s of flood) s.destroy();
      await sleep(500);
      const fresh = await RawConn.connect(port);
      fresh.sendPacket(Cmd.ECHO_REQ, "after");
      assert.equal(
        (await fresh.expectPacket(Cmd.ECHO_RES, 1000)).body.toString(),
        "after",
        "new connections are served once the flood is gone",
      );
      fresh.close();
      keep.close();

      const logLines = stderr.split("\n").slice(logBefore - 1).filter((l) => l.trim() !== "");
      process.stderr.write(
        `emfile: server CPU ${(busy * 100).toFixed(0)}% of a core during the flood; existing echo ${
          echoMs.toFixed(1)
        } ms; ${logLines.length} log lines\n`,
      );
      assert.equal(child.exitCode, null, "the server is still running");
      assert.ok(busy < 0.25, `the server burnt ${(busy * 100).toFixed(0)}% of a core while accept() failed: a busy accept loop`);
      assert.ok(logLines.length <= 5, `the EMFILE condition is logged per failure: ${logLines.length} lines`);
      assert.ok(
        logLines.some((l) => /EMFILE|too many open files|file descriptor/i.test(l)),
        `EMFILE is logged (once per interval): ${JSON.stringify(logLines.slice(0, 3))}`,
      );
    } finally {
      for (const s of flood) s.destroy();
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
  },
);
