/**
 * What bulk admin work costs everybody else: a bystander's echo p99, the
 * longest event-loop stall, and the command's total time, for `job purge`
 * of a million queued jobs, `job retry all` over a million failed jobs, a
 * burst of 100,000 CAN_DO in one write, `status` + `prioritystatus` +
 * `functions` over 100,000 functions, and the purge again on the SQLite
 * store. Each runs once against an in-process server on a free port; the
 * million jobs are loaded as a replay would.
 *
 *   bun scripts/bench/bulk_admin.ts [--root DIR] [--only purge,retry,burst,listings,sqlite]
 *
 * `--root` points at another checkout of gearbox (its mod.ts and test
 * helpers), to measure the same scenarios before a change.
 */
import { Buffer } from "node:buffer";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { root: { type: "string" }, only: { type: "string" } } });
const root = resolve(values.root ?? new URL("../../", import.meta.url).pathname);
const only = values.only?.split(",");
const { createServer, MemoryStore } = await import(`${root}/mod.ts`);
const { Bystander, LoopLag } = await import(`${root}/tests/helpers/probe.ts`);
const { packet, RawConn } = await import(`${root}/tests/helpers/raw_conn.ts`);
const { Cmd } = await import(`${root}/src/protocol/commands.ts`);
const MILLION = 1_000_000;
const W = new Uint8Array([119]);

// deno-lint-ignore no-explicit-any
type Server = any;

async function preload(server: Server, store: Server, fn: string, n: number, ended?: object): Promise<void> {
  const t = Date.now();
  for (let from = 0; from < n; from += 20_000) {
    const part = Array.from({ length: Math.min(20_000, n - from) }, (_, i) => {
      const id = from + i + 1;
      return {
        id,
        handle: `H:bulk:${id}`,
        function: fn,
        unique: "",
        data: W,
        reducer: "",
        priority: 1,
        runAt: 0,
        createdAt: t,
        retries: 0,
        failures: [],
        ended,
      };
    });
    await store.commit({ add: part, update: [], remove: [] });
    server.core.restore(part, t);
  }
}

async function measure(
  name: string,
  options: object,
  setup: (s: Server, store: Server) => Promise<void>,
  run: (port: number) => Promise<void>,
): Promise<void> {
  if (only && !only.some((o) => name.startsWith(o))) return;
  const memory = "store" in options ? undefined : new MemoryStore();
  const server = createServer({ port: 0, listen: "127.0.0.1", storeInstance: memory, logLevel: "silent", ...options });
  await server.start();
  await setup(server, memory ?? server.store);
  (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
  const lag = new LoopLag().start();
  const bystander = await Bystander.start(server.port);
  const t0 = performance.now();
  await run(server.port);
  const total = performance.now() - t0;
  const echo = await bystander.stop();
  const stall = lag.stop();
  await server.stop();
  console.log(
    `${name.padEnd(10)} echo p99 ${echo.p99.toFixed(0).padStart(5)} ms   max stall ${stall.toFixed(0).padStart(5)} ms   total ${
      total.toFixed(0).padStart(5)
    } ms${echo.error ? `   (bystander: ${echo.error.message})` : ""}`,
  );
}

await measure("purge", {}, (s, st) => preload(s, st, "f", MILLION), async (port) => {
  const c = await RawConn.connect(port);
  if ((await c.adminLine("job purge f", 60_000)) !== `OK ${MILLION}\n`) throw new Error("purge");
  c.close();
});

const dir = mkdtempSync(join(tmpdir(), "gearbox-bench-"));
await measure("sqlite-purge", { store: `sqlite:${join(dir, "bench.db")}` }, (s, st) => preload(s, st, "f", MILLION), async (port) => {
  const c = await RawConn.connect(port);
  if ((await c.adminLine("job purge f", 60_000)) !== `OK ${MILLION}\n`) throw new Error("purge");
  c.close();
});
rmSync(dir, { recursive: true, force: true });

await measure(
  "retry",
  { maxEndedJobs: MILLION },
  (s, st) => preload(s, st, "f", MILLION, { outcome: "failed", exitStatus: 1, at: Date.now(), deleteAfter: Date.now() + 86_400_000 }),
  async (port) => {
    const c = await RawConn.connect(port);
    if ((await c.adminLine("job retry all", 60_000)) !== `OK ${MILLION}\n`) throw new Error("retry");
    c.close();
  },
);

// Built before measuring: the client runs on the loop that is measured.
const burst = Buffer.concat([...Array.from({ length: 100_000 }, (_, i) => packet(Cmd.CAN_DO, `cd_${i}`)), packet(Cmd.ECHO_REQ, "last")]);
await measure("burst", {}, async () => {}, async (port) => {
  const sock = connect({ port, host: "127.0.0.1" });
  await new Promise<void>((r) => sock.once("connect", () => r()));
  sock.write(burst);
  // The echo behind the burst is the last reply.
  await new Promise<void>((r, reject) => {
    let tail = Buffer.alloc(0);
    let got = 0;
    const t = setTimeout(() => reject(new Error(`burst: ${got} bytes, no echo`)), 30_000);
    sock.on("data", (d: Buffer) => {
      got += d.length;
      tail = Buffer.concat([tail, d]).subarray(-64);
      if (tail.includes("last")) {
        clearTimeout(t);
        r();
      }
    });
  });
  sock.destroy();
});

await measure("listings", {}, async (s) => {
  // Made as an operator would, in one write of `create function` lines; set-up, not measured.
  const sock = connect({ port: s.port, host: "127.0.0.1" });
  const oks = 100_000 * "OK\r\n".length;
  await new Promise<void>((r) => {
    let got = 0;
    sock.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= oks) r();
    });
    sock.write(Array.from({ length: 100_000 }, (_, i) => `create function fn_${i}\n`).join(""));
  });
  sock.destroy();
}, async (port) => {
  // Counted, not parsed: the client runs on the loop that is measured.
  const sock = connect({ port, host: "127.0.0.1" });
  await new Promise<void>((r) => sock.once("connect", () => r()));
  sock.write("status\r\nprioritystatus\r\nfunctions\r\n");
  await new Promise<void>((r) => {
    let ends = 0;
    let prev = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      const b = Buffer.concat([prev, d]); // an end may straddle two reads
      for (let i = b.indexOf("\n.\n"); i !== -1; i = b.indexOf("\n.\n", i + 1)) ends++;
      prev = b.subarray(-2);
      if (ends === 3) r();
    });
  });
  sock.destroy();
});
