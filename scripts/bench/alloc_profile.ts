/**
 * Bytes the server allocates on its hot path, per packet type and per
 * foreground job (`npm run bench:alloc`).
 *
 * A real `GearboxServer` (memory store) serves two in-memory sink sockets, a
 * client and a worker; every packet is handed to it as one read, the way the
 * listener does (data event → input pump → decoder → core → output → socket
 * write), and what it writes is counted, not kept. The packets are encoded
 * before measuring, so the harness itself allocates nothing in a window.
 *
 * Counting: the script runs itself again with JavaScriptCore's GC log on
 * (`BUN_JSC_logGC=1`), a small heap (`BUN_JSC_forceRAMSize`) and heap growth
 * factors of 1%, so a collection is requested every few hundred KB however
 * many jobs are live; each request logs the bytes allocated since the
 * previous one. Between two marks those are summed and divided by the
 * packets sent. The partial cycle at a window's end is not counted (the
 * figures are low by about one cycle ÷ N). A second run without the log
 * times the same windows.
 *
 * `--types` says what the bytes are: one run with a heap too large to be
 * collected during a window, and JavaScriptCore's count of cells by type
 * (`heapStats().objectTypeCounts`) before and after each window; the new
 * cells per packet are printed by type (bytes outside cells, such as a
 * Set's storage, show only in the byte counts).
 *
 *   bun scripts/bench/alloc_profile.ts [--n 20000] [--json | --types]
 *
 * @module
 */
import { heapStats } from "bun:jsc";
import { writeSync } from "node:fs";
import { Cmd } from "../../src/protocol/commands.ts";
import { encodePacket } from "../../src/protocol/encoder.ts";
import type { NetSocket, PeerIdentity } from "../../src/runtime/net.ts";
import { createServer } from "../../src/server/server.ts";

const CYCLE_RAM = 262_144; // forceRAMSize: a collection about every 200 KB
const ROUNDS = 3;

const args = process.argv.slice(2);
const N = Number(args[args.indexOf("--n") + 1] ?? 20000) || 20000;

/** A connected socket that counts what the server writes and hands it reads as data events. */
class SinkSocket implements NetSocket {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort = 1;
  readonly tls = false;
  readonly bufferedBytes = 0;
  bytesOut = 0;
  last: Uint8Array | undefined;
  keep = false;
  #data: (chunk: Uint8Array) => void = () => {};
  write(bytes: Uint8Array): boolean {
    this.bytesOut += bytes.length;
    if (this.keep) this.last = bytes.slice();
    return true;
  }
  writeLent(buffer: Uint8Array, length: number): boolean {
    this.bytesOut += length;
    if (this.keep) this.last = buffer.slice(0, length);
    return true;
  }
  /** The server paused reading (its turn budget was used, e.g. by a collection): later reads must wait. */
  paused = false;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {}
  destroy(): void {}
  onData(cb: (chunk: Uint8Array) => void): void {
    this.#data = cb;
  }
  onDrain(): void {}
  onClose(): void {}
  onSecure(_cb: (peer: PeerIdentity | undefined) => void): void {}
  /**
   * One read of these bytes. True when the server paused the connection
   * (its turn's budget was used, by a collection say): await
   * {@link resumed} before the next read. Awaiting only then keeps the
   * harness from allocating a promise per packet.
   */
  read(chunk: Uint8Array): boolean {
    this.#data(chunk);
    return this.paused;
  }
  async resumed(): Promise<void> {
    while (this.paused) await new Promise((r) => setImmediate(r));
  }
}

/** A request as a plain Uint8Array, as the listener's reads are (binaryType "uint8array"). */
const req = (code: number, a: string[] = [], data?: Uint8Array) => new Uint8Array(encodePacket(code, a, data, "REQ"));
const PAYLOAD = new Uint8Array(100).fill(0x61);

interface Row {
  name: string;
  packets: string;
  per: number;
  /** Wall time of the window, ms (meaningful in the run without the GC log). */
  ms: number;
}

/** Cells made per packet since `before`, by type (counts under 0.05 a packet left out). */
function newCells(before: Record<string, number>, per: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [type, n] of Object.entries(heapStats().objectTypeCounts)) {
    const made = (n - (before[type] ?? 0)) / per;
    if (made >= 0.05) out[type] = Math.round(made * 100) / 100;
  }
  return out;
}

/** `--types`: one run on a heap no window fills, and the cells each packet made, by type. */
async function types(): Promise<void> {
  const env = { ...process.env, BUN_JSC_forceRAMSize: String(8 * 1024 ** 3) };
  const proc = Bun.spawn([process.execPath, import.meta.path, "--child", "--types", "--n", String(Math.min(N, 5000))], {
    env,
    stderr: "pipe",
  });
  const text = await new Response(proc.stderr).text();
  if ((await proc.exited) !== 0) throw new Error(`alloc_profile: the measuring process failed\n${text}`);
  const last = new Map<string, Record<string, number>>(); // each row's last round, in the rows' order
  for (const line of text.split("\n").filter((l) => l.startsWith("TYPES "))) {
    const { name, cells } = JSON.parse(line.slice(6)) as { name: string; cells: Record<string, number> };
    last.set(name, cells);
  }
  console.log("cells made per packet (or job), by type, in the last round (Bun " + Bun.version + ")\n");
  console.log("| packet in | cells made |\n|---|---|");
  for (const [name, cells] of last) {
    const list = Object.entries(cells).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(", ");
    console.log(`| ${name} | ${list || "none"} |`);
  }
}

async function child(): Promise<void> {
  const server = createServer({ port: 0, listen: "127.0.0.1", store: "memory:", logLevel: "silent", jobHandlePrefix: "H:bench" });
  await server.start();
  const c = new SinkSocket();
  const w = new SinkSocket();
  server.accept(c);
  server.accept(w);
  let seq = 0;
  // A job's handle, learnt from the JOB_CREATED of a probe submission: ids count up by one per job.
  c.keep = true;
  if (c.read(req(Cmd.SUBMIT_JOB, ["probe", `probe-${seq++}`], PAYLOAD))) await c.resumed();
  c.keep = false;
  const created = new TextDecoder("latin1").decode(c.last!.subarray(12));
  const colon = created.lastIndexOf(":");
  const prefix = created.slice(0, colon + 1);
  let nextId = Number(created.slice(colon + 1)) + 1;
  if (w.read(req(Cmd.CAN_DO, ["f"]))) await w.resumed();

  const fgSubmits = (n: number) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(req(Cmd.SUBMIT_JOB, ["f", `u-${seq++}`], PAYLOAD));
    return out;
  };
  const bgSubmits = (n: number) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(req(Cmd.SUBMIT_JOB_BG, ["f", `b-${seq++}`], PAYLOAD));
    return out;
  };
  /** WORK_COMPLETE packets for the next n jobs the server will make (from `first`). */
  const completes = (first: number, n: number) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(req(Cmd.WORK_COMPLETE, [`${prefix}${first + i}`], PAYLOAD));
    return out;
  };
  const GRAB_ALL = req(Cmd.GRAB_JOB_ALL);
  const GRAB_UNIQ = req(Cmd.GRAB_JOB_UNIQ);
  const GRAB = req(Cmd.GRAB_JOB);
  const PRE_SLEEP = req(Cmd.PRE_SLEEP);

  const rows: Row[] = [];
  /** Runs `body` between two marks; `count` packets (or jobs) divide the total. */
  const measure = async (name: string, packets: string, count: number, body: () => Promise<void>, settled?: () => boolean) => {
    Bun.gc(true);
    const cells = args.includes("--types") ? heapStats().objectTypeCounts as Record<string, number> : undefined;
    writeSync(2, "MARK begin\n");
    const t0 = performance.now();
    await body();
    // Background acknowledgements wait for the store's commit, a turn later.
    while (settled && !settled()) await new Promise((r) => setImmediate(r));
    const ms = performance.now() - t0;
    if (cells) writeSync(2, `TYPES ${JSON.stringify({ name, cells: newCells(cells, count) })}\n`);
    writeSync(2, `MARK end ${rows.length}\n`);
    rows.push({ name, packets, per: count, ms });
  };

  /** One phase-major round: each packet type n times in a row, the queue filling and emptying. */
  const round = async (n: number, record: boolean) => {
    const first = nextId;
    const subs = fgSubmits(n);
    const done = completes(first, n);
    const m = async (a: string, b: string, count: number, body: () => Promise<void>, settled?: () => boolean) => {
      if (record) return await measure(a, b, count, body, settled);
      await body();
      while (settled && !settled()) await new Promise((r) => setImmediate(r));
    };
    await m("SUBMIT_JOB (fg, 100 B)", "→ JOB_CREATED", n, async () => {
      for (let i = 0; i < n; i++) if (c.read(subs[i]!)) await c.resumed();
    });
    await m("GRAB_JOB_ALL, a job queued", "→ JOB_ASSIGN_UNIQ", n, async () => {
      for (let i = 0; i < n; i++) if (w.read(GRAB_ALL)) await w.resumed();
    });
    await m("WORK_COMPLETE (100 B) of a fg job", "→ WORK_COMPLETE to the client", n, async () => {
      for (let i = 0; i < n; i++) if (w.read(done[i]!)) await w.resumed();
    });
    await m("GRAB_JOB_ALL, nothing queued", "→ NO_JOB", n, async () => {
      for (let i = 0; i < n; i++) if (w.read(GRAB_ALL)) await w.resumed();
    });
    await m("PRE_SLEEP", "(worker sleeps)", n, async () => {
      for (let i = 0; i < n; i++) if (w.read(PRE_SLEEP)) await w.resumed();
    });
    nextId += n;
    const first2 = nextId;
    const wake = fgSubmits(n);
    const done2 = completes(first2, n);
    await m("PRE_SLEEP + SUBMIT_JOB, worker asleep", "→ NOOP + JOB_CREATED", n, async () => {
      for (let i = 0; i < n; i++) {
        if (w.read(PRE_SLEEP)) await w.resumed();
        if (c.read(wake[i]!)) await c.resumed();
      }
    });
    await m("GRAB_JOB (plain), a job queued", "→ JOB_ASSIGN", n, async () => {
      for (let i = 0; i < n; i++) if (w.read(GRAB)) await w.resumed();
    });
    for (let i = 0; i < n; i++) if (w.read(done2[i]!)) await w.resumed();
    nextId += n;
    const first3 = nextId;
    const bg = bgSubmits(n);
    const done3 = completes(first3, n);
    const acked = c.bytesOut + n * (12 + `${prefix}${first3}`.length);
    await m("SUBMIT_JOB_BG (100 B, memory store)", "→ JOB_CREATED", n, async () => {
      for (let i = 0; i < n; i++) if (c.read(bg[i]!)) await c.resumed();
    }, () => c.bytesOut >= acked);
    await m("GRAB_JOB_UNIQ, a bg job queued", "→ JOB_ASSIGN_UNIQ", n, async () => {
      for (let i = 0; i < n; i++) if (w.read(GRAB_UNIQ)) await w.resumed();
    });
    await m("WORK_COMPLETE of a bg job", "(nobody listens)", n, async () => {
      for (let i = 0; i < n; i++) if (w.read(done3[i]!)) await w.resumed();
    });
    nextId += n;
    /** One foreground job an iteration: submitted, grabbed with `grab`, completed; `idle`: the worker then finds nothing and sleeps. */
    const jobCycle = async (name: string, grab: Uint8Array, idle: boolean) => {
      const first = nextId;
      const subs = fgSubmits(n);
      const done = completes(first, n);
      await m(name, "per job", n, async () => {
        for (let i = 0; i < n; i++) {
          if (c.read(subs[i]!)) await c.resumed();
          if (w.read(grab)) await w.resumed();
          if (w.read(done[i]!)) await w.resumed();
          if (!idle) continue;
          if (w.read(GRAB_ALL)) await w.resumed();
          if (w.read(PRE_SLEEP)) await w.resumed();
        }
      });
      nextId += n;
    };
    // Steady state of a busy server: each job submitted, grabbed and completed in turn; then an
    // idle worker, woken for each job and back to sleep after it.
    await jobCycle("fg job, busy worker (SUBMIT_JOB, GRAB_JOB_ALL, WORK_COMPLETE)", GRAB_ALL, false);
    await jobCycle("fg job, busy worker, plain GRAB_JOB", GRAB, false);
    await jobCycle("fg job, idle worker (+ NOOP, NO_JOB, PRE_SLEEP)", GRAB_ALL, true);
  };
  // Warm-up: the JIT settles and the tables reach their size; then ROUNDS measured rounds (the median counts).
  await round(N, false);
  await round(N, false);
  for (let r = 0; r < ROUNDS; r++) await round(N, true);
  const expectDone = server.core.view.jobs.size;
  writeSync(2, `ROWS ${JSON.stringify(rows)}\n`);
  writeSync(2, `LEFT ${expectDone}\n`);
  await server.stop();
}

/** Runs the measuring process; `gcLog`: with the GC log and a small heap (bytes), else as it runs in production (time). */
async function run(gcLog: boolean): Promise<{ text: string; code: number }> {
  const env: Record<string, string | undefined> = { ...process.env };
  // A small heap that grows by 1% a cycle: a collection is requested every few hundred KB even with 20,000 jobs live.
  const growth = "1.01";
  if (gcLog) {
    Object.assign(env, {
      BUN_JSC_logGC: "1",
      BUN_JSC_forceRAMSize: String(CYCLE_RAM),
      BUN_JSC_smallHeapGrowthFactor: growth,
      BUN_JSC_mediumHeapGrowthFactor: growth,
      BUN_JSC_largeHeapGrowthFactor: growth,
    });
  }
  const proc = Bun.spawn([process.execPath, import.meta.path, "--child", "--n", String(N)], { env, stdout: "inherit", stderr: "pipe" });
  const text = await new Response(proc.stderr).text();
  return { text, code: await proc.exited };
}

function rowsOf(text: string): Row[] {
  const line = text.split("\n").find((l) => l.startsWith("ROWS "));
  return line ? JSON.parse(line.slice(5)) : [];
}

async function parent(): Promise<void> {
  const timed = await run(false);
  const { text, code } = await run(true);
  let rows: Row[] = [];
  let left = -1;
  const totals: number[] = [];
  let on = -1;
  let acc = 0;
  let cycles = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("MARK begin")) {
      on = 1;
      acc = 0;
    } else if (line.startsWith("MARK end")) {
      totals[Number(line.split(" ")[2])] = acc;
      on = -1;
    } else if (line.startsWith("ROWS ")) rows = JSON.parse(line.slice(5));
    else if (line.startsWith("LEFT ")) left = Number(line.slice(5));
    else {
      const m = /bytes allocated this cycle: (\d+)/.exec(line);
      if (m) {
        cycles++;
        if (on === 1) acc += Number(m[1]);
      }
    }
  }
  if (code !== 0 || rows.length === 0) {
    process.stderr.write(text.split("\n").filter((l) => !l.startsWith("[GC") && !l.includes("GC")).join("\n"));
    throw new Error(`alloc_profile: the measuring process failed (exit ${code})`);
  }
  const times = rowsOf(timed.text);
  if (timed.code !== 0 || times.length !== rows.length) throw new Error(`alloc_profile: the timing run failed (exit ${timed.code})`);
  if (left !== 1) {
    throw new Error(`alloc_profile: ${left} jobs left (1 expected, the probe) on the server: the packets did not match its handles`);
  }
  // Each row was measured ROUNDS times: the median, and the spread across rounds.
  const summary = new Map<string, { packets: string; bytes: number[]; ns: number[] }>();
  rows.forEach((r, i) => {
    const e = summary.get(r.name) ?? { packets: r.packets, bytes: [], ns: [] };
    e.bytes.push(totals[i]! / r.per);
    e.ns.push(times[i]!.ms * 1e6 / r.per);
    summary.set(r.name, e);
  });
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const out = [...summary].map(([name, e]) => ({
    name,
    packets: e.packets,
    bytes: Math.round(median(e.bytes)),
    spread: Math.round(Math.max(...e.bytes) - Math.min(...e.bytes)),
    ns: Math.round(median(e.ns)),
  }));
  if (args.includes("--json")) {
    console.log(JSON.stringify(out));
    return;
  }
  console.log(
    `bytes allocated and time spent by the server per packet (or job): N = ${N} each, median of ${ROUNDS} rounds (time: a run without the GC log); Bun ${Bun.version}; ${cycles} collections`,
  );
  console.log("");
  console.log("| packet in | out | bytes allocated | spread over rounds | time, ns |");
  console.log("|---|---|---:|---:|---:|");
  for (const r of out) console.log(`| ${r.name} | ${r.packets} | ${r.bytes} | ${r.spread} | ${r.ns} |`);
}

if (args.includes("--child")) await child();
else if (args.includes("--types")) await types();
else await parent();
