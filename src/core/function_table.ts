/**
 * The function table: records by name, plus what admin commands need
 * without walking every record (`drop function` matches names ignoring
 * case; `status` lists them sorted; a full table drops the record idle
 * longest). With max_functions at 100,000 a walk
 * per request would let one pipelined connection stall the server.
 *
 * @module
 */
import type { FunctionRecord } from "./function_record.ts";
import { SortedRecords } from "./sorted_records.ts";

export class FunctionTable extends Map<string, FunctionRecord> {
  /**
   * Records whose name is not all lower case, by lower-cased name: the
   * record, or (rarely) all the names that differ only in case. Lower-case
   * names are found in the table itself, so this map stays small and does
   * not grow (and rehash, 22–29 ms at 98,304 entries) in step with it.
   */
  readonly #lower = new Map<string, FunctionRecord | FunctionRecord[]>();
  readonly #sorted = new SortedRecords();
  /**
   * Records that may be idle (`FunctionRecord.idle`), longest idle first: a
   * full table makes room by dropping the first that still is. Each record
   * is in it at most once and leaves it when deleted.
   */
  readonly #idleLine = new Set<FunctionRecord>();

  override set(name: string, rec: FunctionRecord): this {
    const old = super.get(name);
    if (old !== undefined) {
      this.#unindex(name, old);
      this.#idleLine.delete(old);
    }
    super.set(name, rec);
    this.#sorted.insert(rec);
    const key = name.toLowerCase();
    if (key === name) return this;
    const same = this.#lower.get(key);
    if (same === undefined) this.#lower.set(key, rec);
    else if (Array.isArray(same)) same.push(rec);
    else this.#lower.set(key, [same, rec]);
    return this;
  }

  override delete(name: string): boolean {
    const rec = super.get(name);
    if (rec === undefined) return false;
    this.#unindex(name, rec);
    this.#idleLine.delete(rec);
    return super.delete(name);
  }

  override clear(): void {
    super.clear();
    this.#lower.clear();
    this.#sorted.clear();
    this.#idleLine.clear();
  }

  /**
   * A record may have become idle (made just now, or its last worker or job
   * left): it goes to the end of the line. Records in use again when their
   * turn comes are skipped and leave it, so each call costs O(1) amortized.
   */
  noteIdle(rec: FunctionRecord): void {
    if (!rec.idle || super.get(rec.name) !== rec) return;
    this.#idleLine.delete(rec);
    this.#idleLine.add(rec);
  }

  /** Deletes the record idle longest; false when no record is idle. */
  reclaimIdle(): boolean {
    for (const rec of this.#idleLine) {
      this.#idleLine.delete(rec);
      if (rec.idle && super.get(rec.name) === rec) return this.delete(rec.name);
    }
    return false;
  }

  /** The first record whose name equals `name` ignoring case (gearmand's `drop function`). */
  findIgnoringCase(name: string): FunctionRecord | undefined {
    const key = name.toLowerCase();
    const same = this.#lower.get(key);
    return super.get(name) ?? super.get(key) ?? (Array.isArray(same) ? same[0] : same);
  }

  /** Records sorted by name (byte order): a fresh copy of the order kept as records come and go. */
  sorted(): readonly FunctionRecord[] {
    return this.#sorted.toArray();
  }

  #unindex(name: string, rec: FunctionRecord): void {
    this.#sorted.remove(rec);
    const key = name.toLowerCase();
    if (key === name) return;
    const same = this.#lower.get(key);
    if (same === rec) this.#lower.delete(key);
    else if (Array.isArray(same)) {
      const rest = same.filter((r) => r !== rec);
      this.#lower.set(key, rest.length === 1 ? rest[0]! : rest);
    }
  }
}
