/**
 * docs/reliability.md §3 cases about names and stored strings, beyond the
 * argument checks of bad_input_arguments: hostile uniques and client ids must
 * not forge rows of the line-based admin listings (b16, b29), and hostile
 * bytes must round-trip literally through the durable SQLite store and a
 * restart (b12, b43, b44 — "exactly one job row").
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerOptions } from "../../mod.ts";
import { openDatabase } from "../../src/runtime/sqlite.ts";
import { Cmd } from "../../src/protocol/commands.ts";
import { packet, RawConn } from "../helpers/raw_conn.ts";
import { assertAlive, counter, withServer } from "../helpers/inproc.ts";
import { sync } from "../helpers/scenario.ts";

async function created(c: RawConn): Promise<string> {
  return (await c.expectPacket(Cmd.JOB_CREATED, 2000)).body.toString("latin1");
}

/**
 * Reads a list reply and whatever comes before the reply to a `version` sent
 * after it: a forged "." would leave rows behind, and they arrive first.
 */
async function listAndRest(c: RawConn, cmd: string): Promise<{ rows: string[]; rest: string }> {
  c.send(cmd + "\r\n");
  let out = "";
  while (!out.endsWith("\n.\n") && out !== ".\n") out += await c.readUntil("\n", 1000);
  c.send("version\r\n");
  let rest = "";
  for (let line = await c.readUntil("\n", 1000); !/^OK [^\n]*\n$/.test(line); line = await c.readUntil("\n", 1000)) rest += line;
  return { rows: out.split("\n").slice(0, -2), rest };
}

/** A temporary SQLite store path, removed by the returned cleanup. */
function tempDb(): { url: string; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "gearbox-badinput-"));
  const path = join(dir, "jobs.db");
  return { url: `sqlite:${path}`, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function rowsInJobTable(path: string): { uniq: string; function: string; data: Uint8Array }[] {
  const db = openDatabase(path);
  try {
    return db.prepare("SELECT uniq, function, data FROM job ORDER BY id").all() as unknown as {
      uniq: string;
      function: string;
      data: Uint8Array;
    }[];
  } finally {
    db.close();
  }
}

describe("bad input: names in admin listings and strings in the durable store", () => {
  test("b16: a unique of `.` or with a newline cannot end or forge rows of `show unique jobs`", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      for (const unique of [".", "a\nforged-row", "b\r\n.\r"]) {
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "f16u", unique, "x");
        await created(c);
      }
      const { rows, rest } = await listAndRest(c, "show unique jobs");
      assert.equal(rest, "", "bytes after the list's end: a unique ended the list early");
      assert.equal(rows.length, 3, `one row per job, got ${JSON.stringify(rows)}`);
      assert.ok(!rows.includes("."), "a row that is a lone `.` ends the list for every parser");
      c.close();
    }));

  test("b16: a unique with a tab or newline cannot forge columns or rows of the `jobs` and `clients` listings", () =>
    withServer({}, async (_server, port) => {
      const c = await RawConn.connect(port);
      c.sendPacket(Cmd.SUBMIT_JOB, "f16j", "u\tfake\t1.2.3.4:5\t99\nfake2", "x");
      await created(c);
      const a = await RawConn.connect(port);
      const jobs = await listAndRest(a, "jobs");
      assert.equal(jobs.rest, "");
      assert.equal(jobs.rows.length, 1, `one row for one job, got ${JSON.stringify(jobs.rows)}`);
      assert.equal(jobs.rows[0]!.split("\t").length, 4, "FUNC UNIQUE WORKER LISTENERS: four columns");
      const clients = await listAndRest(a, "clients");
      assert.equal(clients.rows.length, 3, `two connections and one waiting-job row, got ${JSON.stringify(clients.rows)}`);
      c.close();
      a.close();
    }));

  test("b16/b29: a client id with spaces and ` : ` cannot add functions to its `workers` row", () =>
    withServer({}, async (_server, port) => {
      const w = await RawConn.connect(port);
      w.sendPacket(Cmd.SET_CLIENT_ID, "innocent : forged_fn other_fn");
      w.sendPacket(Cmd.CAN_DO, "real_fn");
      const a = await RawConn.connect(port);
      const { rows } = await listAndRest(a, "workers");
      const row = rows.find((r) => r.endsWith(" real_fn"));
      assert.ok(row, JSON.stringify(rows));
      // FD IP CLIENT-ID : FUNCTIONS — a reader splits at the first " : " (or on whitespace).
      assert.equal(
        row.slice(row.indexOf(" : ") + 3),
        "real_fn",
        `the row lists functions the worker never registered: ${JSON.stringify(row)}`,
      );
      assert.equal(row.split(" ").length, 5, `FD IP CLIENT-ID : real_fn must be five words: ${JSON.stringify(row)}`);
      w.close();
      a.close();
    }));

  test("b29/R4: a 1 MiB SET_CLIENT_ID is cut to max_client_id and only the cut is kept: 200 such connections hold kilobytes, not 200 MiB", {
    timeout: 30_000,
  }, () =>
    withServer({ maxConnections: 500 }, async (server, port) => {
      const gc = () => (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
      const id = packet(Cmd.SET_CLIENT_ID, "id-" + "z".repeat(1024 * 1024));
      gc();
      const heap0 = process.memoryUsage().heapUsed;
      const conns: RawConn[] = [];
      for (let i = 0; i < 200; i++) {
        const c = await RawConn.connect(port);
        c.send(id);
        c.sendPacket(Cmd.ECHO_REQ, "x");
        await c.expectPacket(Cmd.ECHO_RES, 2000);
        conns.push(c);
      }
      gc();
      const grew = (process.memoryUsage().heapUsed - heap0) / 1048576;
      assert.equal([...server.core.view.peers.values()].filter((p) => p.clientId.length === 127).length, 200);
      for (const c of conns) c.close();
      assert.ok(grew < 32, `the heap grew by ${grew.toFixed(0)} MiB: each cut client id still holds its 1 MiB original`);
    }));

  test("b12: a background workload of all 256 byte values survives the SQLite store and a restart byte for byte", async () => {
    const db = tempDb();
    const all = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
    const opts: ServerOptions = { store: db.url };
    let handle = "";
    try {
      await withServer(opts, async (_s, port) => {
        const c = await RawConn.connect(port);
        c.sendPacket(Cmd.SUBMIT_JOB_BG, "f12", "", all);
        handle = await created(c);
        c.close();
      });
      assert.equal(Buffer.from(rowsInJobTable(db.path)[0]!.data).equals(all), true, "the stored BLOB is the workload");
      await withServer(opts, async (_s, port) => {
        const w = await RawConn.connect(port);
        w.sendPacket(Cmd.CAN_DO, "f12");
        w.sendPacket(Cmd.GRAB_JOB);
        const job = await w.expectPacket(Cmd.JOB_ASSIGN);
        assert.equal(job.args[0], handle);
        assert.equal(job.body.subarray(handle.length + "f12".length + 2).equals(all), true);
        w.sendPacket(Cmd.WORK_COMPLETE, handle, "");
        await sync(w);
        w.close();
      });
    } finally {
      db.cleanup();
    }
  });

  test("b43: SQL-, path- and format-like function names, uniques and workloads are stored and matched literally across a restart", async () => {
    const db = tempDb();
    const opts: ServerOptions = { store: db.url };
    const jobs = [
      { fn: "x');DROP_TABLE_job;--", unique: "'; DROP TABLE job;--", data: "1' OR '1'='1" },
      { fn: "../../etc/passwd", unique: "../../x", data: "%s%n%x%p" },
      { fn: "%s%n", unique: "${jndi:ldap://x}", data: '"; DELETE FROM job; --' },
    ];
    try {
      await withServer(opts, async (_s, port) => {
        const c = await RawConn.connect(port);
        for (const j of jobs) {
          c.sendPacket(Cmd.SUBMIT_JOB_BG, j.fn, j.unique, j.data);
          await created(c);
        }
        c.close();
      });
      assert.deepEqual(
        rowsInJobTable(db.path).map((r) => [r.function, r.uniq, Buffer.from(r.data).toString("latin1")]),
        jobs.map((j) => [j.fn, j.unique, j.data]),
      );
      await withServer(opts, async (_s, port) => {
        const c = await RawConn.connect(port);
        assert.equal(await c.adminList("show unique jobs"), jobs.map((j) => j.unique + "\n").join("") + ".\n");
        for (const j of jobs) {
          c.sendPacket(Cmd.GET_STATUS_UNIQUE, j.unique);
          assert.equal((await c.expectPacket(Cmd.STATUS_RES_UNIQUE)).args[1], "1", `unique ${j.unique} is known`);
          c.sendPacket(Cmd.CAN_DO, j.fn);
          c.sendPacket(Cmd.GRAB_JOB_UNIQ);
          assert.deepEqual((await c.expectPacket(Cmd.JOB_ASSIGN_UNIQ)).args.slice(1), [j.fn, j.unique, j.data]);
          c.sendPacket(Cmd.RESET_ABILITIES);
        }
        c.close();
      });
    } finally {
      db.cleanup();
    }
  });

  test("b44: 100 concurrent SUBMIT_JOB_BG of one (function, unique) make exactly one SQLite row and one handle, again after a restart", async () => {
    const db = tempDb();
    const opts: ServerOptions = { store: db.url };
    const handles = new Set<string>();
    const burst = async (port: number) => {
      const conns = await Promise.all(Array.from({ length: 100 }, () => RawConn.connect(port)));
      for (const c of conns) c.sendPacket(Cmd.SUBMIT_JOB_BG, "f44", "same-unique", "x");
      for (const h of await Promise.all(conns.map(created))) handles.add(h);
      for (const c of conns) c.close();
    };
    try {
      await withServer(opts, async (server, port) => {
        await burst(port);
        assert.equal(counter(server, "coalesced"), 99);
        await assertAlive(port);
      });
      assert.equal(rowsInJobTable(db.path).length, 1, "one row after the first burst");
      await withServer(opts, (_s, port) => burst(port));
      assert.equal(handles.size, 1, `every submitter got the same handle: ${[...handles].join(", ")}`);
      assert.equal(rowsInJobTable(db.path).length, 1, "still one row after the restart and a second burst");
    } finally {
      db.cleanup();
    }
  });
});
