/**
 * The function table keeps its name order as records come and go
 * (src/core/sorted_records.ts), so `status` never sorts; and finds a name
 * ignoring case with an index that holds only names that are not all lower
 * case.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FunctionRecord } from "../../src/core/function_record.ts";
import { FunctionTable } from "../../src/core/function_table.ts";
import { mulberry32 } from "../helpers/prng.ts";

const LIMITS = [0, 0, 0] as const;

function byteOrder(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("function table", () => {
  test("sorted() is the byte order of the names left after 20,000 seeded inserts, deletes and replacements", () => {
    const random = mulberry32(13);
    const table = new FunctionTable();
    const names: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const r = random();
      if (r < 0.6 || names.length === 0) {
        const name = `f${Math.floor(random() * 1e6).toString(36)}${String.fromCharCode(33 + Math.floor(random() * 200))}`;
        table.set(name, new FunctionRecord(name, LIMITS));
        names.push(name);
      } else if (r < 0.9) {
        const name = names.splice(Math.floor(random() * names.length), 1)[0]!;
        table.delete(name);
      } else {
        const name = names[Math.floor(random() * names.length)]!;
        table.set(name, new FunctionRecord(name, LIMITS)); // a record replaced under the same name
      }
    }
    const sorted = table.sorted();
    assert.deepEqual(sorted.map((f) => f.name), byteOrder(new Set(names)));
    assert.ok(sorted.every((f) => table.get(f.name) === f), "each listed record is the one the table holds");
  });

  test("findIgnoringCase prefers the exact name, then the all-lower-case one, then the first registered variant", () => {
    const table = new FunctionTable();
    for (const name of ["Resize", "RESIZE", "mail"]) table.set(name, new FunctionRecord(name, LIMITS));
    assert.equal(table.findIgnoringCase("RESIZE")?.name, "RESIZE");
    assert.equal(table.findIgnoringCase("resize")?.name, "Resize");
    assert.equal(table.findIgnoringCase("MAIL")?.name, "mail");
    table.set("resize", new FunctionRecord("resize", LIMITS));
    assert.equal(table.findIgnoringCase("ReSiZe")?.name, "resize");
    table.delete("Resize");
    table.delete("resize");
    assert.equal(table.findIgnoringCase("resize")?.name, "RESIZE");
    assert.equal(table.findIgnoringCase("nothing"), undefined);
  });

  test("reclaimIdle() drops the record idle longest, skips records in use or operator-set, and forgets deleted ones", () => {
    const table = new FunctionTable();
    const rec = (name: string) => {
      const r = new FunctionRecord(name, LIMITS);
      table.set(name, r);
      table.noteIdle(r);
      return r;
    };
    const a = rec("a");
    const b = rec("b");
    const c = rec("c");
    const d = rec("d");
    a.total = 1; // a job keeps it
    b.pinned = true; // an operator made or set it
    table.delete("c");
    table.noteIdle(c); // a deleted record never comes back through the line
    table.noteIdle(d); // idle again later: to the end of the line
    const e = rec("e");
    table.noteIdle(d);
    assert.equal(table.reclaimIdle(), true);
    assert.deepEqual([...table.keys()].sort(), ["a", "b", "d"], "e was idle longest once d was noted again");
    assert.equal(table.reclaimIdle(), true);
    assert.deepEqual([...table.keys()].sort(), ["a", "b"]);
    assert.equal(table.reclaimIdle(), false, "nothing idle is left");
    a.total = 0;
    table.noteIdle(a);
    assert.equal(table.reclaimIdle(), true);
    assert.deepEqual([...table.keys()], ["b"]);
    assert.equal(e.idle && d.idle, true);
  });
});
