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
  /** Records by lower-cased name; several names may differ only in case. */
  readonly #lower = new Map<string, FunctionRecord[]>();
  #sorted: FunctionRecord[] | undefined;

  override set(name: string, rec: FunctionRecord): this {
    const old = super.get(name);
    if (old !== undefined) this.#unindex(name, old);
    super.set(name, rec);
    const key = name.toLowerCase();
    const same = this.#lower.get(key);
    if (same) same.push(rec);
    else this.#lower.set(key, [rec]);
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
    return super.get(name) ?? this.#lower.get(name.toLowerCase())?.[0];
  }

  /** Records sorted by name (byte order), cached until the table changes. */
  sorted(): readonly FunctionRecord[] {
    return this.#sorted ??= [...super.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #unindex(name: string, rec: FunctionRecord): void {
    const key = name.toLowerCase();
    const same = this.#lower.get(key);
    if (!same) return;
    const rest = same.filter((r) => r !== rec);
    if (rest.length === 0) this.#lower.delete(key);
    else this.#lower.set(key, rest);
  }
}
