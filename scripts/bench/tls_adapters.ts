/**
 * Which TLS listener gearbox uses on Bun, measured: 100-byte echo round
 * trips (C connections, one message in flight each) against a server child
 * process that is (a) node:tls `createServer` (what net_tls.ts uses),
 * (b) `Bun.listen` with `tls`, or plaintext `Bun.listen` as the floor.
 * Prints round trips/s and the server's CPU µs per round trip, best of
 * alternating rounds (docs/runtime.md §11).
 *
 *   bun scripts/bench/tls_adapters.ts [--seconds 3] [--rounds 3] [--clients 16]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as tcp, type Socket } from "node:net";
import { connect as tls, createServer } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { makeCerts } from "../../tests/helpers/certs.ts";
import { freePort, waitForPort } from "../../tests/helpers/free_port.ts";
import { cpuSeconds } from "./proc_cpu.ts";

type Mode = "node-tls" | "bun-tls" | "bun-plain";
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    clients: { type: "string", default: "16" },
    serve: { type: "string" },
    port: { type: "string" },
    dir: { type: "string" },
  },
});

/** The child: an echo server of one kind. */
function serve(mode: Mode, port: number, dir: string): void {
  const cert = readFileSync(join(dir, "server.pem"), "utf8");
  const key = readFileSync(join(dir, "server.key"), "utf8");
  if (mode === "node-tls") {
    createServer({ cert, key, minVersion: "TLSv1.2" }, (s) => {
      s.setNoDelay(true);
      s.on("data", (d) => s.write(d));
      s.on("error", () => {});
    }).listen(port, "127.0.0.1");
    return;
  }
  const bun = (globalThis as unknown as { Bun: { listen(o: unknown): unknown } }).Bun;
  bun.listen({
    hostname: "127.0.0.1",
    port,
    ...(mode === "bun-tls" ? { tls: { cert, key } } : {}),
    socket: { data: (s: { write(d: Uint8Array): number }, d: Uint8Array) => s.write(d) },
  });
}

async function run(mode: Mode, seconds: number, clients: number, dir: string, ca: Buffer): Promise<{ rate: number; us: number }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [
    import.meta.path ?? process.argv[1]!,
    "--serve",
    mode,
    "--port",
    String(port),
    "--dir",
    dir,
  ], {
    stdio: "inherit",
  });
  await waitForPort(port);
  const secure = mode !== "bun-plain";
  const socks: Socket[] = await Promise.all(Array.from({ length: clients }, () =>
    new Promise<Socket>((resolve) => {
      const s = secure ? tls({ port, host: "127.0.0.1", ca, servername: "localhost" }) : tcp({ port, host: "127.0.0.1" });
      s.once(secure ? "secureConnect" : "connect", () => resolve(s));
    })));
  let done = 0;
  let running = true;
  const msg = Buffer.alloc(100, 0x61);
  for (const s of socks) {
    s.setNoDelay(true);
    let got = 0;
    s.on("data", (d: Buffer) => {
      got += d.length;
      while (got >= 100) {
        got -= 100;
        done++;
        if (running) s.write(msg);
      }
    });
    s.write(msg);
  }
  const cpu0 = cpuSeconds([child.pid!]);
  const d0 = done;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const n = done - d0;
  const cpu = cpuSeconds([child.pid!]) - cpu0;
  running = false;
  for (const s of socks) s.destroy();
  child.kill("SIGKILL");
  return { rate: n / seconds, us: (cpu * 1e6) / n };
}

if (values.serve) {
  serve(values.serve as Mode, Number(values.port), values.dir!);
} else {
  const dir = mkdtempSync(join(tmpdir(), "gearbox-tls-adapters-"));
  makeCerts(dir);
  const ca = readFileSync(join(dir, "ca.pem"));
  const modes: Mode[] = ["bun-plain", "bun-tls", "node-tls"];
  const best = new Map<Mode, { rate: number; us: number }>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
      const r = await run(mode, Number(values.seconds), Number(values.clients), dir, ca);
      if ((best.get(mode)?.rate ?? 0) < r.rate) best.set(mode, r);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `echo, 100 B, ${values.clients} connections, best of ${values.rounds} alternating rounds, ${values.seconds} s each (bun ${process.versions.bun})`,
  );
  console.log("| server | round trips/s | server CPU µs/round trip |\n|---|---:|---:|");
  for (const [mode, r] of best) console.log(`| ${mode} | ${Math.round(r.rate).toLocaleString("en")} | ${r.us.toFixed(1)} |`);
}
