/**
 * `npm run check:submit-hangs [-- RUNS [CONCURRENCY]]`: runs `gearbox
 * submit` (the compiled binary) RUNS times (default 1000) against a gearbox
 * server with a fast worker on this machine, and prints how many runs hung
 * (no exit within 10 s), returned a wrong result, and the time per run. A
 * worker that answers at once is what made JOB_CREATED and WORK_COMPLETE
 * arrive in one read, which used to drop the result and hang the client.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, Worker } from "../mod.ts";

const BIN = new URL("../dist/gearbox", import.meta.url).pathname;
if (!existsSync(BIN)) {
  console.error("dist/gearbox is not built: npm run build");
  process.exit(64);
}
const runs = Number(process.argv[2] ?? 1000);
const concurrency = Number(process.argv[3] ?? 4);
const server = createServer({ port: 0, store: "memory:", logLevel: "silent" });
await server.start();
const addr = `127.0.0.1:${server.port}`;
const worker = new Worker({ servers: [addr] });
worker.register("rev", (job) => [...job.data].reverse().join(""));
const working = worker.work();

let next = 0, done = 0, hangs = 0, wrong = 0;
const started = Date.now();
function one(i: number): Promise<void> {
  const data = `job-${i}`;
  return new Promise((resolve) => {
    const p = spawn(BIN, ["submit", "rev", data, "-s", addr]);
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      hangs++;
      p.kill("SIGKILL");
    }, 10_000);
    p.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0 || out !== [...data].reverse().join("")) wrong++;
      if (++done % 100 === 0) process.stderr.write(`${done}/${runs} runs, ${hangs} hung\n`);
      resolve();
    });
  });
}
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < runs) await one(next++);
}));
const ms = (Date.now() - started) / runs;
console.log(`${runs} gearbox submit runs (${concurrency} at a time): ${hangs} hung, ${wrong - hangs} wrong, ${ms.toFixed(1)} ms a run`);
await worker.stop();
await working;
await server.stop();
process.exit(hangs + wrong > 0 ? 1 : 0);
