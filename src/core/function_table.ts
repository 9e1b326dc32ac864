/**
 * The function table: records by name, plus what admin commands need
 * without walking every record (`drop function` matches names ignoring
 * case; `status` lists them sorted). With max_functions at 100,000 a walk
 * per request would let one pipelined connection stall the server.
 *
 * @module
 */
import type { FunctionRecord } from "./functions.ts";

export class FunctionTable extends Map<string, FunctionRecord> {
  /** Records by lower-cased name: the record, or (rarely) all the names that differ only in case. */
  readonly #lower = new Map<string, FunctionRecord | FunctionRecord[]>();
  #sorted: FunctionRecord[] | undefined;

  override set(name: string, rec: FunctionRecord): this {
    const old = super.get(name);
    if (old !== undefined) this.#unindex(name, old);
    super.set(name, rec);
    const key = name.toLowerCase();
    const same = this.#lower.get(key);
    if (same === undefined) this.#lower.set(key, rec);
    else if (Array.isArray(same)) same.push(rec);
    else this.#lower.set(key, [same, rec]);
    this.#sorted = undefined;
    return this;
  }

  override delete(name: string): boolean {
    const rec = super.get(name);
    if (rec === undefined) return false;
    this.#unindex(name, rec);
    this.#sorted = undefined;
    return super.delete(name);
  }

  override clear(): void {
    super.clear();
    this.#lower.clear();
    this.#sorted = undefined;
  }

  /** The first record whose name equals `name` ignoring case (gearmand's `drop function`). */
  findIgnoringCase(name: string): FunctionRecord | undefined {
    const same = this.#lower.get(name.toLowerCase());
    return super.get(name) ?? (Array.isArray(same) ? same[0] : same);
  }

  /** Records sorted by name (byte order), cached until the table changes. */
  sorted(): readonly FunctionRecord[] {
    return this.#sorted ??= [...super.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #unindex(name: string, rec: FunctionRecord): void {
    const key = name.toLowerCase();
    const same = this.#lower.get(key);
    if (same === rec) this.#lower.delete(key);
    else if (Array.isArray(same)) {
      const rest = same.filter((r) => r !== rec);
      this.#lower.set(key, rest.length === 1 ? rest[0]! : rest);
    }
  }
}
