/**
 * A damaged store file: the SQLite store refuses it with a reason, or, where
 * the damage touched nothing the queue uses, opens it with every job exactly
 * as committed. Never a job nobody submitted, never a job silently missing,
 * never a workload's wrong bytes (a workload that fails its checksum fails
 * its job instead). Fixtures are copies of one populated store, damaged
 * while closed: a zeroed header, truncation, seeded random byte flips, and
 * flips aimed at one workload and at one function name.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredJob } from "../../src/store/job_store.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { checkStore, healthy as healthyReport, salvageStore, type ScanReport } from "../../src/store/store_salvage.ts";
import { gearboxCommand } from "../helpers/servers.ts";
import { mulberry32 as random } from "../helpers/prng.ts";
import { tempDirs } from "../helpers/temp_dir.ts";

const tempDir = tempDirs();

const dir = tempDir("gearbox-damaged-");

/** What the store must give back for each job id: the committed fields and workload. */
const ledger = new Map<number, StoredJob>();

/** Builds the healthy store once: 300 jobs, workloads of 0 to 6,000 bytes, retries, a dead job, removals (free pages). */
async function buildHealthy(): Promise<string> {
  const path = join(dir, "healthy.db");
  const store = new SqliteStore(path);
  await store.open();
  const rnd = random(7);
  const functions = ["resize", "mail.send", "report"];
  let id = 0;
  for (let batch = 0; batch < 6; batch++) {
    const add: StoredJob[] = [];
    for (let i = 0; i < 50; i++) {
      id++;
      const size = id % 25 === 0 ? 6000 : Math.floor(rnd() * 300);
      const data = Uint8Array.from({ length: size }, () => Math.floor(rnd() * 256));
      data.set(new TextEncoder().encode(`payload-${id}-`).subarray(0, size));
      add.push({
        id,
        handle: `H:damage.boot:${id}`,
        function: functions[id % 3]!,
        unique: id % 4 === 0 ? "" : `u-${id}`,
        data,
        reducer: "",
        priority: (id % 3) as 0 | 1 | 2,
        runAt: id % 10 === 0 ? 1_900_000_000_000 : 0,
        createdAt: 1_800_000_000_000 + id,
        retries: 0,
        failures: [],
        ended: undefined,
      });
    }
    await store.commit({ add, remove: [] });
    for (const j of add) ledger.set(j.id, j);
  }
  const retried = { ...ledger.get(5)!, retries: 2, runAt: 1_900_000_000_500, failures: [{ at: 1_800_000_001_000, message: "timeout" }] };
  const dead = {
    ...ledger.get(6)!,
    failures: [{ at: 1_800_000_002_000, message: "no such image" }],
    ended: { outcome: "failed" as const, exitStatus: 3, at: 1_800_000_002_000, deleteAfter: 1_900_000_000_000 },
  };
  const removed = [...ledger.keys()].filter((k) => k % 7 === 0);
  await store.commit({ add: [], update: [retried, dead], remove: removed });
  ledger.set(5, retried);
  ledger.set(6, dead);
  for (const k of removed) ledger.delete(k);
  await store.commit({ add: [], remove: [], schedules: SCHEDULES });
  await store.close();
  return path;
}

/** Two schedules' progress rows (the state JSON as the schedule runner writes it): a salvage must keep them. */
const SCHEDULES = [
  { name: "nightly", nextSlot: 1_900_000_086_400, state: JSON.stringify({ anchor: 1_800_000_000_000, fired: 41, missed: 2, skipped: 0 }) },
  {
    name: "tick",
    nextSlot: 1_900_000_000_001,
    state: JSON.stringify({ anchor: 1_800_000_000_000, fired: 7, missed: 0, skipped: 1, paused: true }),
  },
];

const healthy = await buildHealthy();
let fixtures = 0;

/** A copy of the healthy store for one fixture to damage. */
function copy(): string {
  const p = join(dir, `fixture-${++fixtures}.db`);
  copyFileSync(healthy, p);
  return p;
}

function flip(path: string, offsets: number[]): void {
  const bytes = readFileSync(path);
  for (const at of offsets) bytes[at]! ^= 0x5a;
  writeFileSync(path, bytes);
}

/** The fields a job is replayed with, for comparison with the ledger. */
function fields(j: StoredJob) {
  return [j.id, j.handle, j.function, j.unique, j.reducer, j.priority, j.runAt, j.createdAt, j.retries, j.failures, j.ended];
}

/**
 * Opens a fixture and checks the rule: refused as damaged, or every committed
 * job back exactly, each workload exact or refused as damaged. Returns which.
 */
async function judge(path: string, what: string): Promise<{ refused?: string; badWorkloads: number[] }> {
  const store = new SqliteStore(path);
  let jobs: StoredJob[];
  try {
    jobs = [...(await store.open())];
  } catch (e) {
    await store.close();
    const err = e as Error & { code?: string };
    assert.equal(err.code, "STORE_CORRUPT", `${what}: refused, but as ${err.code}: ${err.message}`);
    assert.ok(err.message.includes(path), `${what}: the reason names the file: ${err.message}`);
    return { refused: err.message, badWorkloads: [] };
  }
  const badWorkloads: number[] = [];
  try {
    assert.deepEqual(jobs.map((j) => j.id), [...ledger.keys()], `${what}: opened, so every committed job is there and nothing else`);
    for (const j of jobs) {
      const want = ledger.get(j.id)!;
      assert.deepEqual(fields(j), fields(want), `${what}: job ${j.id} replays as committed`);
      let data: Uint8Array | undefined;
      try {
        data = j.data ?? await store.payload(j.id);
      } catch (e) {
        assert.equal((e as { code?: string }).code, "STORE_CORRUPT", `${what}: job ${j.id}'s workload: ${(e as Error).message}`);
        badWorkloads.push(j.id);
        continue;
      }
      assert.deepEqual(data, want.data, `${what}: job ${j.id}'s workload reads back byte for byte`);
    }
  } finally {
    await store.close();
  }
  return { badWorkloads };
}

/** The damaging fixtures, each a function that makes one from a fresh copy. */
const DAMAGE: { name: string; make: () => string }[] = [
  { name: "cut to half", make: () => cut(0.5) },
  { name: "cut to 0.9", make: () => cut(0.9) },
  { name: "one workload flipped", make: () => flipWorkload(100) },
  { name: "one function renamed", make: () => renameFunction(101) },
  ...Array.from({ length: 20 }, (_, i) => ({ name: `random flips, seed ${i + 1}`, make: () => randomFlips(i + 1).path })),
];

function cut(keep: number): string {
  const p = copy();
  truncateSync(p, Math.floor(statSync(p).size * keep / 4096) * 4096);
  return p;
}

function flipWorkload(id: number): string {
  const p = copy();
  const marker = Buffer.from(`payload-${id}-`);
  const at = readFileSync(p).indexOf(marker);
  assert.ok(at > 0, `the fixture holds job ${id}'s workload`);
  flip(p, [at + marker.length + 3]);
  return p;
}

function renameFunction(id: number): string {
  const p = copy();
  const bytes = readFileSync(p);
  const at = bytes.indexOf(Buffer.from(`H:damage.boot:${id}`));
  const fn = bytes.indexOf(Buffer.from("report"), at);
  assert.ok(at > 0 && fn > at && fn - at < 40, `job ${id}'s row holds its handle, then its function`);
  bytes[fn] = "d".charCodeAt(0); // "report" becomes "deport", a valid name nobody submitted
  writeFileSync(p, bytes);
  return p;
}

function randomFlips(seed: number): { path: string; offsets: number[] } {
  const rnd = random(1000 + seed);
  const size = statSync(healthy).size;
  const offsets = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * size));
  const path = copy();
  flip(path, offsets);
  return { path, offsets };
}

/** Whether a job the salvage left out is one the report names or an id range it says it could not read. */
function accountedFor(r: ScanReport, id: number): boolean {
  if (r.damagedRows.some((j) => j.id === id) || r.damagedWorkloads.some((j) => j.id === id)) return true;
  return r.unreadable.some((g) => id > g.after && (g.before === null || id < g.before));
}

describe("a damaged sqlite store", () => {
  test("the healthy copy opens with every job and workload as committed", async () => {
    assert.deepEqual(await judge(copy(), "undamaged copy"), { badWorkloads: [] });
  });

  test("a zeroed header is refused as not a database", async () => {
    const p = copy();
    const bytes = readFileSync(p);
    bytes.fill(0, 0, 100);
    writeFileSync(p, bytes);
    assert.match((await judge(p, "zeroed header")).refused ?? "", /not a usable SQLite database|not a gearbox store/);
  });

  test("a file cut short is refused, and the reason says it is damaged", async () => {
    for (const keep of [0.5, 0.9]) {
      assert.match((await judge(cut(keep), `cut to ${keep}`)).refused ?? "", /damaged|malformed/, `cut to ${keep} of its size`);
    }
  });

  test("a flipped byte in one workload fails that job's workload read and leaves the others intact", async () => {
    assert.deepEqual(await judge(flipWorkload(100), "workload flip"), { badWorkloads: [100] });
  });

  test("a changed function name is refused, naming the job row", async () => {
    assert.match((await judge(renameFunction(101), "function renamed")).refused ?? "", /job rows 101 fail their checksum/);
  });

  test("20 seeded fixtures of random byte flips: each refused, or opened with nothing wrong", async () => {
    const outcomes = { refused: 0, opened: 0, badWorkloads: 0 };
    for (let seed = 1; seed <= 20; seed++) {
      const { path, offsets } = randomFlips(seed);
      const r = await judge(path, `seed ${seed}, flips at ${offsets.join(",")}`);
      if (r.refused) outcomes.refused++;
      else outcomes.opened++;
      outcomes.badWorkloads += r.badWorkloads.length;
    }
    // The rule is checked fixture by fixture above; this line is for the log.
    console.log(
      `random flips: ${outcomes.refused} refused, ${outcomes.opened} opened intact, ${outcomes.badWorkloads} workloads refused by checksum`,
    );
    assert.equal(outcomes.refused + outcomes.opened, 20);
  });

  test("gearbox serve refuses a damaged store at start, exits 1 and says why", () => {
    const p = copy();
    truncateSync(p, Math.floor(statSync(p).size / 2 / 4096) * 4096);
    const before = readFileSync(p);
    const [cmd, ...pre] = gearboxCommand();
    const r = spawnSync(cmd!, [...pre, "serve", "--port", "0", "--store", `sqlite:${p}`, "--log-level", "silent"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /is damaged .*Refusing to start; the file was not changed/);
    assert.ok(readFileSync(p).equals(before), "the damaged file is byte for byte as it was");
  });
});

describe("gearbox store check and salvage", () => {
  test("check finds nothing wrong in the healthy file, and names the job whose workload or row fails", () => {
    assert.ok(healthyReport(checkStore(copy())));
    assert.deepEqual(checkStore(flipWorkload(100)).damagedWorkloads, [{
      id: 100,
      handle: "H:damage.boot:100",
      function: "mail.send",
      unique: "",
    }]);
    assert.deepEqual(checkStore(renameFunction(101)).damagedRows.map((j) => [j.id, j.function]), [[101, "deport"]]);
  });

  test("salvage copies every intact job of each damaged fixture, exactly, and accounts for each job it leaves", async () => {
    const summary: string[] = [];
    for (const d of DAMAGE) {
      const from = d.make();
      const to = `${from}.salvaged`;
      let result;
      try {
        result = await salvageStore(from, to);
      } catch (e) {
        // Only a file SQLite cannot read at all may fail, and it leaves nothing behind.
        assert.equal((e as { code?: string }).code, "STORE_CORRUPT", `${d.name}: ${(e as Error).message}`);
        assert.ok(!existsSync(to), `${d.name}: no empty store is left behind`);
        summary.push(`${d.name}: unreadable`);
        continue;
      }
      const { report, copied } = result;
      assert.equal(copied, report.intact, d.name);
      const store = new SqliteStore(to);
      const jobs = [...(await store.open())];
      try {
        assert.equal(jobs.length, copied, `${d.name}: the new store replays what was copied`);
        for (const j of jobs) {
          const want = ledger.get(j.id);
          assert.ok(want, `${d.name}: job ${j.id} was committed`);
          assert.deepEqual(fields(j), fields(want), `${d.name}: job ${j.id} as committed`);
          assert.deepEqual(j.data ?? await store.payload(j.id), want.data, `${d.name}: job ${j.id}'s workload`);
        }
      } finally {
        await store.close();
      }
      const kept = new Set(jobs.map((j) => j.id));
      for (const id of ledger.keys()) {
        if (!kept.has(id)) assert.ok(accountedFor(report, id), `${d.name}: job ${id} was left out without a word`);
      }
      summary.push(`${d.name}: ${copied}/${ledger.size}`);
    }
    console.log(`salvaged: ${summary.join("; ")}`);
  });

  test("salvage keeps the schedules' progress rows as they were, so no slot is fired again or lost", async () => {
    const from = flipWorkload(100);
    const to = `${from}.with-schedules`;
    const result = await salvageStore(from, to);
    assert.deepEqual(result.report.schedules, SCHEDULES);
    const store = new SqliteStore(to);
    await store.open();
    try {
      assert.deepEqual(await store.schedules(), SCHEDULES);
    } finally {
      await store.close();
    }
  });

  test("a file SQLite cannot read at all fails the check and leaves no salvage file", async () => {
    const p = copy();
    const bytes = readFileSync(p);
    bytes.fill(0, 0, 100);
    writeFileSync(p, bytes);
    assert.throws(() => checkStore(p), (e: Error & { code?: string }) => e.code === "STORE_CORRUPT");
    await assert.rejects(salvageStore(p, `${p}.salvaged`));
    assert.ok(!existsSync(`${p}.salvaged`));
  });

  test("the commands: exit 0 for a healthy file, 1 with a table for damage, 2 for an unreadable file, 64 for a salvage over a file", () => {
    const [cmd, ...pre] = gearboxCommand();
    const run = (...args: string[]) =>
      spawnSync(cmd!, [...pre, "store", ...args], { encoding: "utf8", timeout: 20_000, env: { ...process.env, NO_COLOR: "1" } });
    const fine = run("check", copy());
    assert.deepEqual([fine.status, /no damage found/.test(fine.stdout)], [0, true], fine.stderr);
    const damaged = flipWorkload(100);
    const found = run("check", damaged);
    assert.equal(found.status, 1, found.stderr);
    assert.match(found.stdout, /100\s*│\s*workload\s*│\s*H:damage\.boot:100\s*│\s*mail\.send/);
    assert.match(found.stdout, /gearbox store salvage /);
    const json = JSON.parse(run("check", damaged, "--json").stdout);
    assert.equal(json.healthy, false);
    const zeroed = copy();
    writeFileSync(zeroed, Buffer.alloc(4096));
    assert.equal(run("check", zeroed).status, 2);
    assert.equal(run("salvage", damaged, copy()).status, 64, "never writes over an existing file");
    const to = `${damaged}.new`;
    const salvaged = run("salvage", damaged, to);
    assert.equal(salvaged.status, 1, salvaged.stderr);
    assert.match(
      salvaged.stdout,
      new RegExp(`copied ${ledger.size - 1} jobs and 2 schedules' progress into .*; 1 damaged job left behind`),
    );
    assert.equal(run("check", to).status, 0);
  });
});
