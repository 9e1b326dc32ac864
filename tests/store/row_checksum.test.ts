/**
 * Row checksums: a new row's shortcut agrees with the general form, and any
 * one changed value, character, NULL or boundary changes the checksum.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { freshMetaChecksum, metaChecksum, type RowState } from "../../src/store/row_checksum.ts";
import { fullRow, rowState } from "../../src/store/job_rows.ts";
import type { StoredJob } from "../../src/core/mod.ts";

const row: RowState = [42, "H:host.boot:42", "resize", "img-1", "", 1, 0, 1_800_000_000_000, 0, null, null, null, null, null];

describe("row checksums", () => {
  test("a new job's checksum equals the general one over its full row", () => {
    assert.equal(freshMetaChecksum(42, "H:host.boot:42", "resize", "img-1", "", 1, 0, 1_800_000_000_000), metaChecksum(row));
  });

  test("a full row of a new job (COPY's shortcut) has the values and checksum of the general form; a retried one takes the general form", () => {
    const fresh: StoredJob = {
      id: 42,
      handle: "H:host.boot:42",
      function: "resize",
      unique: "img-1",
      data: new Uint8Array([1, 2, 3]),
      reducer: "",
      priority: 1,
      runAt: 0,
      createdAt: 1_800_000_000_000,
      retries: 0,
      failures: [],
      ended: undefined,
    };
    const general = (j: StoredJob) => {
      const s = rowState(j);
      return [...s.slice(0, 4), j.data, ...s.slice(4, 8), metaChecksum(s), fullRow(j)[10], ...s.slice(8)];
    };
    assert.deepEqual(fullRow(fresh), general(fresh));
    const retried = { ...fresh, retries: 2, failures: [{ at: 1, message: "boom" }] };
    assert.deepEqual(fullRow(retried), general(retried));
    assert.notEqual(fullRow(retried)[9], fullRow(fresh)[9]);
  });

  test("any one changed value changes the checksum", () => {
    const base = metaChecksum(row);
    const variants: RowState[] = [
      [43, ...row.slice(1)] as unknown as RowState,
      [42, "H:host.boot:42", "resizf", "img-1", "", 1, 0, 1_800_000_000_000, 0, null, null, null, null, null],
      [42, "H:host.boot:42", "resize", "img-1", "", 2, 0, 1_800_000_000_000, 0, null, null, null, null, null],
      [42, "H:host.boot:42", "resize", "img-1", "", 1, 0, 1_800_000_000_000 + 2 ** 32, 0, null, null, null, null, null],
      [42, "H:host.boot:42", "resize", "img-1", "", 1, 0, 1_800_000_000_000, 0, null, null, 0, null, null],
      [42, "H:host.boot:42", "resize", "img-1", "", 1, 0, 1_800_000_000_000, 0, "", null, null, null, null],
      [42, "H:host.boot:42", "resiz", "eimg-1", "", 1, 0, 1_800_000_000_000, 0, null, null, null, null, null],
      [42, "H:host.boot:42", "resize", "img-\xff", "", 1, 0, 1_800_000_000_000, 0, null, null, null, null, null],
    ];
    for (const v of variants) assert.notEqual(metaChecksum(v), base, JSON.stringify(v));
  });

  test("every single-character change of a string column is caught", () => {
    const base = metaChecksum(row);
    const handle = row[1];
    for (let i = 0; i < handle.length; i++) {
      for (let code = 0; code < 256; code++) {
        if (code === handle.charCodeAt(i)) continue;
        const changed = [...row] as unknown as [number, string, ...unknown[]];
        changed[1] = handle.slice(0, i) + String.fromCharCode(code) + handle.slice(i + 1);
        assert.notEqual(metaChecksum(changed as unknown as RowState), base);
      }
    }
  });
});
