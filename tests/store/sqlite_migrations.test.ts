/**
 * Upgrading an SQLite store in place: a file written by an older gearbox
 * (schema version 2, with the UNIQUE index on handle) opens under the
 * current schema with every job intact, and the index is gone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/runtime/sqlite.ts";
import { APPLICATION_ID, MIGRATIONS } from "../../src/store/migrations.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";

test("a version-2 store is migrated to the current schema with its jobs, handles and failure logs kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gearbox-migrate-"));
  const path = join(dir, "old.db");
  try {
    const old = openDatabase(path);
    old.exec(MIGRATIONS[0]!);
    old.exec(MIGRATIONS[1]!);
    old.exec(`PRAGMA user_version=2; PRAGMA application_id=${APPLICATION_ID};`);
    const insert = old.prepare(
      "INSERT INTO job (id, handle, function, uniq, data, priority, run_after, created_at, retries, failures, outcome, exit_status, ended_at, delete_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    insert.run(1, "H:old.boot:1", "resize", "img-1", new Uint8Array([1, 2, 3]), 0, 0, 1000, 0, null, null, null, null, null);
    insert.run(
      2,
      "H:old.boot:2",
      "resize",
      "",
      new Uint8Array([4]),
      2,
      5000,
      2000,
      3,
      JSON.stringify([{ at: 3000, message: "boom" }]),
      "failed",
      2,
      4000,
      9_000_000_000_000,
    );
    assert.equal(
      Number(old.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index'").get()!.n),
      1,
      "version 2 has the handle index",
    );
    old.close();

    const store = new SqliteStore(path);
    const jobs = Array.from(await store.open());
    const data = await Promise.all(jobs.map((j) => store.payload(j.id)));
    assert.deepEqual(jobs.map((j, i) => [j.id, j.handle, j.function, j.unique, [...data[i]!], j.priority, j.runAt, j.retries]), [
      [1, "H:old.boot:1", "resize", "img-1", [1, 2, 3], 0, 0, 0],
      [2, "H:old.boot:2", "resize", "", [4], 2, 5000, 3],
    ]);
    assert.deepEqual(jobs[1]!.failures, [{ at: 3000, message: "boom" }]);
    assert.equal(jobs[1]!.ended?.outcome, "failed");
    assert.equal(jobs[1]!.ended?.exitStatus, 2);
    await store.close();

    const db = openDatabase(path);
    assert.equal(Number(db.prepare("PRAGMA user_version").get()!.user_version), MIGRATIONS.length);
    assert.equal(
      Number(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index'").get()!.n),
      0,
      "no handle index any more",
    );
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
