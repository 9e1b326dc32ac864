/**
 * The binary COPY encoder (src/store/postgres_copy.ts) and the runtime's
 * COPY FROM STDIN: what PostgreSQL reads back is exactly what was encoded,
 * edge values included, on a real server (tests/helpers/postgres.ts); a COPY
 * the server refuses rejects with the server's own error, in a transaction
 * (which then commits nothing) and on its own.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openPostgres, type PgPool } from "../../src/runtime/postgres.ts";
import type { SqlValue } from "../../src/runtime/sqlite.ts";
import { CopyEncoder, type CopyType, encodeCopy } from "../../src/store/postgres_copy.ts";
import { encodeNewRows } from "../../src/store/postgres_copy_rows.ts";
import { pgFullRow, PgNames } from "../../src/store/postgres_names.ts";
import { ADD_COLUMNS } from "../../src/store/postgres_uniques.ts";
import { testPostgres } from "../helpers/postgres.ts";
import { storedJob } from "../helpers/stored_job.ts";
import type { StoredJob } from "../../src/store/job_store.ts";

const postgres = await testPostgres();
const skip = postgres.ok ? undefined : postgres.skip;

const TYPES: CopyType[] = ["bigint", "integer", "smallint", "text", "bytea"];
const TABLE = "CREATE TABLE t (b bigint PRIMARY KEY, i integer, s smallint, x text, y bytea)";
const COPY = "COPY t (b, i, s, x, y) FROM STDIN (FORMAT binary)";

describe("binary COPY encoding", () => {
  test("an empty batch is the signature, a zero header and the end marker, nothing else", () => {
    const bytes = encodeCopy(TYPES, []);
    assert.deepEqual([...bytes], [...Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
  });

  test("a value out of its column's range or of the wrong kind is refused before anything is sent", () => {
    assert.throws(() => encodeCopy(["smallint"], [[40000]]), /smallint column got 40000/);
    assert.throws(() => encodeCopy(["integer"], [[2 ** 31]]), /integer column got/);
    assert.throws(() => encodeCopy(["bigint"], [[1.5]]), /bigint column got 1.5/);
    assert.throws(() => encodeCopy(["text"], [[new Uint8Array(1)]]), /text column got object/);
    assert.throws(() => encodeCopy(["bytea"], [["x"]]), /bytea column got string/);
    assert.throws(() => encodeCopy(["text", "text"], [["a"]]), /a row has 1 values for 2 columns/);
  });

  test("an encoder that keeps its buffer gives the bytes a fresh one gives, a shared first value included, small after large", () => {
    const enc = new CopyEncoder();
    const big: SqlValue[][] = Array.from(
      { length: 500 },
      (_, i) => [i * 1e9, i, i % 300, `é${i}`.repeat(i % 7), new Uint8Array(i % 50).fill(i)],
    );
    const small: SqlValue[][] = [[1, 2, 3, "x", new Uint8Array([9])]];
    const withNode = (rows: SqlValue[][]) => rows.map((r) => ["node-é", ...r]);
    assert.deepEqual([...enc.encode(TYPES, big)], [...encodeCopy(TYPES, big)]);
    assert.deepEqual([...enc.encode(TYPES, small)], [...encodeCopy(TYPES, small)], "no byte of the larger stream left over");
    assert.deepEqual([...enc.encode(["text", ...TYPES], big, "node-é")], [...encodeCopy(["text", ...TYPES], withNode(big))]);
    assert.deepEqual([...enc.encode(["text", ...TYPES], small, "node-é")], [...encodeCopy(["text", ...TYPES], withNode(small))]);
    assert.throws(() => enc.encode(["text", ...TYPES], [[1, 2]], "n"), /a row has 3 values for 6 columns/);
  });
});

describe("new jobs' COPY rows", () => {
  test("written field by field they are the bytes of their full rows encoded as values, for every kind of job and part", () => {
    const types: CopyType[] = ["integer", ...ADD_COLUMNS.map(([, t]) => t as CopyType)];
    const names = new PgNames([["fn", 3], ["f", 4], ["H:t.boot", 1], ["H:ñode.x", 2]]);
    const fullRow = (j: StoredJob) => pgFullRow(j, names);
    const jobs = [
      storedJob(2 ** 40 + 1, { unique: "u-1", function: "fn" }),
      storedJob(2 ** 40 + 2, { unique: "ünï-漢字", reducer: "sum", runAt: 1_900_000_000_000, priority: 2 }),
      storedJob(2 ** 40 + 3, { retries: 2, failures: [{ at: 5, message: "boom ✗" }], data: new Uint8Array(200_000).fill(7) }),
      storedJob(2 ** 40 + 4, { data: new Uint8Array(0), handle: "H:ñode.x:1099511627780" }),
    ];
    const node = 7;
    const rows = new CopyEncoder();
    for (const [opens, closes] of [[true, true], [true, false], [false, false], [false, true]] as const) {
      const want = new CopyEncoder().part(types, jobs.map(fullRow), node, opens, closes);
      assert.deepEqual(
        Buffer.from(encodeNewRows(rows, jobs, node, names, opens, closes)),
        Buffer.from(want),
        `opens ${opens}, closes ${closes}`,
      );
    }
    const small = encodeNewRows(rows, jobs.slice(0, 1), node, names, true, true); // the grown buffer kept, a short part after it
    assert.deepEqual(Buffer.from(small), Buffer.from(encodeCopy(types, [[node, ...fullRow(jobs[0]!)]])));
    assert.throws(() => encodeNewRows(rows, [storedJob(9, { data: undefined })], node, names, true, true), /without its workload/);
    assert.throws(() => encodeNewRows(rows, [storedJob(9, { function: "g" })], node, names, true, true), /before its names were numbered/);
  });
});

describe("COPY FROM STDIN on a real server", { skip }, () => {
  let pool: PgPool | undefined;
  const db = async () => {
    if (!pool) {
      if (!postgres.ok) throw new Error(skip);
      pool = openPostgres(await postgres.pg.createDatabase(), { max: 2, connectTimeoutS: 5, applicationName: "gearbox-tests" });
    }
    return pool;
  };
  after(async () => {
    await pool?.end();
    if (postgres.ok) await postgres.pg.dropDatabases();
  });

  test("every edge value comes back as it was encoded: NULLs, extremes, negative numbers, non-ASCII text, NUL bytes", async () => {
    const p = await db();
    await p.query(TABLE);
    const big = new Uint8Array(70_000).map((_, k) => (k * 7) % 256);
    const rows: SqlValue[][] = [
      [1, null, null, null, null],
      [Number.MAX_SAFE_INTEGER, 2 ** 31 - 1, 32767, "", new Uint8Array(0)],
      [Number.MIN_SAFE_INTEGER, -(2 ** 31), -32768, 'é—🎉 \\N {a,"b"} NULL', new Uint8Array([0, 255, 0])],
      [-1, -1, -1, "x".repeat(10_000), big],
      [2n ** 62n, 0, 0, "bigint given as a bigint", new Uint8Array([92, 120])],
      [4294967296, 4294967 % 65536, 1, "tab\there", new Uint8Array([10, 13])],
    ];
    await p.transaction((tx) => tx.copyIn(COPY, encodeCopy(TYPES, rows)));
    const back = await p.query("SELECT b::text AS b, i, s, x, y FROM t ORDER BY t.b");
    const expected = rows.map((r) => ({ b: String(r[0]), i: r[1], s: r[2], x: r[3], y: r[4] }))
      .sort((a, b) => (BigInt(a.b) < BigInt(b.b) ? -1 : 1));
    assert.deepEqual(back.map((r) => ({ ...r, y: r.y === null ? null : new Uint8Array(r.y as Uint8Array) })), expected);
  });

  test("a COPY the server refuses rejects with the server's own error, and its transaction commits nothing", async () => {
    const p = await db();
    await p.query("CREATE TABLE u (b bigint PRIMARY KEY)");
    await p.query("INSERT INTO u VALUES (2)");
    await assert.rejects(
      p.transaction(async (tx) => {
        await tx.query("INSERT INTO u VALUES (10)");
        await tx.copyIn("COPY u (b) FROM STDIN (FORMAT binary)", encodeCopy(["bigint"], [[1], [2], [3]]));
      }),
      (e: Error & { code?: string }) => e.code === "23505" && /duplicate key/.test(e.message),
    );
    assert.deepEqual((await p.query("SELECT b FROM u ORDER BY b")).map((r) => r.b), [2]);
    await p.transaction((tx) => tx.copyIn("COPY u (b) FROM STDIN (FORMAT binary)", encodeCopy(["bigint"], [[1], [3]])));
    assert.deepEqual((await p.query("SELECT b FROM u ORDER BY b")).map((r) => r.b), [1, 2, 3]);
  });

  test("a COPY on the pool is a transaction of its own: refused, it rejects with the server's error and leaves no row; accepted, its rows are there", async () => {
    const p = await db();
    await p.query("CREATE TABLE v (b bigint PRIMARY KEY)");
    await p.query("INSERT INTO v VALUES (2)");
    const copy = (ids: number[]) => p.copyIn("COPY v (b) FROM STDIN (FORMAT binary)", encodeCopy(["bigint"], ids.map((b) => [b])));
    await assert.rejects(copy([1, 2, 3]), (e: Error & { code?: string }) => e.code === "23505");
    await assert.rejects(copy([4, 4]), (e: Error & { code?: string }) => e.code === "23505");
    await assert.rejects(p.copyIn("COPY nowhere (b) FROM STDIN (FORMAT binary)", encodeCopy(["bigint"], [[1]])), /nowhere/);
    assert.deepEqual((await p.query("SELECT b FROM v ORDER BY b")).map((r) => r.b), [2]);
    await Promise.all([copy([1, 3]), copy([5]), copy([6, 7])]);
    assert.deepEqual((await p.query("SELECT b FROM v ORDER BY b")).map((r) => r.b), [1, 2, 3, 5, 6, 7]);
  });

  test("a COPY sent in parts from one reused buffer stores what each part held when written, whether it went at once or had to wait, and so does the next COPY, which reuses the waiting buffer", async () => {
    const p = await db();
    for (const table of ["w1", "w2"]) {
      await p.query(`CREATE TABLE ${table} (x text, b bigint PRIMARY KEY)`);
      const enc = new CopyEncoder();
      const stream = p.copyStream(`COPY ${table} (x, b) FROM STDIN (FORMAT binary)`);
      const send = (ids: number[], opens: boolean, closes: boolean) => {
        const part = enc.part(["text", "bigint"], ids.map((b) => [b]), table, opens, closes);
        stream.write(part);
        part.fill(0xee); // the encoder's buffer is reused at once: the stream must not depend on it
      };
      // Parts before the COPY started (they wait), back to back in one turn (the stream is busy), and after a turn.
      send([1, 2], true, false);
      await new Promise((r) => setTimeout(r, 50));
      for (let k = 3; k < 40; k += 2) send([k, k + 1], false, false);
      await new Promise((r) => setImmediate(r));
      send([100], false, true);
      await stream.end();
      const back = await p.query(`SELECT x, b FROM ${table} ORDER BY b`);
      const ids = [...Array.from({ length: 40 }, (_, k) => k + 1), 100];
      assert.deepEqual(back.map((r) => [r.x, Number(r.b)]), ids.map((b) => [table, b]));
    }
  });
});
