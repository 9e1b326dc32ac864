/**
 * How fast the TypeScript library is, against gearbox and gearmand: the same
 * Client and Worker code, one server at a time, jobs/s printed as a table.
 *
 *   bun scripts/bench/library.ts [--seconds 3] [--inflight 16] [--workers 4]
 *
 * Phases: foreground round trips with N requests in flight and W library
 * workers (each its own connection); pipelined background submits in batches
 * of 1000 (submitMultipleJobs, waitUntilComplete false).
 */
import { parseArgs } from "node:util";
import { Client, Worker } from "../../mod.ts";
import { HAVE_GEARMAND, startGearbox, startGearmand } from "../../tests/helpers/servers.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    inflight: { type: "string", default: "16" },
    workers: { type: "string", default: "4" },
  },
});
const seconds = Number(values.seconds);
const inflight = Number(values.inflight);
const workerCount = Number(values.workers);

async function foreground(addr: string): Promise<number> {
  const workers = Array.from({ length: workerCount }, () => {
    const w = new Worker({ servers: [addr] });
    w.register("bench_echo", (job) => job.data);
    void w.work();
    return w;
  });
  const client = new Client({ servers: [addr] });
  const payload = "x".repeat(100);
  await client.submitJob("bench_echo", payload); // warm-up
  let done = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (Date.now() < end) {
      const r = await client.submitJob("bench_echo", payload);
      if (r.state !== "COMPLETE") throw new Error(`job ${r.state}`);
      done++;
    }
  }));
  client.close();
  await Promise.all(workers.map((w) => w.stop()));
  return done / seconds;
}

async function backgroundSubmit(addr: string): Promise<number> {
  const client = new Client({ servers: [addr] });
  const batch = Array.from({ length: 1000 }, () => ({ function: "bench_bg", data: "x".repeat(100), background: true }));
  let done = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const reqs = await client.submitMultipleJobs(batch, { waitUntilComplete: false });
    done += reqs.filter((r) => r.state === "CREATED").length;
  }
  client.close();
  return done / seconds;
}

const rows: string[][] = [];
for (const [name, start] of [["gearbox (memory)", () => startGearbox()], ["gearmand", () => startGearmand()]] as const) {
  if (name === "gearmand" && !HAVE_GEARMAND) continue;
  const fg = await start();
  const fgRate = await foreground(`127.0.0.1:${fg.port}`);
  await fg.stop();
  const bg = await start();
  const bgRate = await backgroundSubmit(`127.0.0.1:${bg.port}`);
  await bg.stop();
  rows.push([name, Math.round(fgRate).toLocaleString("en"), Math.round(bgRate).toLocaleString("en")]);
}
console.log(
  `library (${
    process.versions.bun ? "bun " + process.versions.bun : "node"
  }), ${seconds} s per phase, ${inflight} in flight, ${workerCount} workers, 100 B payloads`,
);
console.log("| server | foreground jobs/s | background submits/s |\n|---|---:|---:|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
