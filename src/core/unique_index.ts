/**
 * Live jobs by unique, across functions. Coalescing looks a unique up within
 * one function; GET_STATUS_UNIQUE looks it up without a function, which
 * must not mean a walk over every function (up to max_functions of them).
 * One entry per unique: the job itself, or an array in the rare case that
 * several functions hold the same unique.
 *
 * @module
 */
import type { FunctionRecord } from "./functions.ts";
import type { Job } from "./job.ts";

export class UniqueIndex {
  readonly #byKey = new Map<string, Job | Job[]>();

  /** The live job of `fn` with this coalescing key. */
  get(fn: FunctionRecord, key: string): Job | undefined {
    const e = this.#byKey.get(key);
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return e.fn === fn ? e : undefined;
    return e.find((j) => j.fn === fn);
  }

  /** Some live job with this key, whatever its function (the oldest one). */
  any(key: string): Job | undefined {
    const e = this.#byKey.get(key);
    return Array.isArray(e) ? e[0] : e;
  }

  add(job: Job): void {
    const key = job.uniqueKey!;
    const e = this.#byKey.get(key);
    if (e === undefined) this.#byKey.set(key, job);
    else if (Array.isArray(e)) e.push(job);
    else this.#byKey.set(key, [e, job]);
  }

  remove(job: Job): void {
    const key = job.uniqueKey!;
    const e = this.#byKey.get(key);
    if (e === job) this.#byKey.delete(key);
    else if (Array.isArray(e)) {
      const rest = e.filter((j) => j !== job);
      if (rest.length === 1) this.#byKey.set(key, rest[0]!);
      else if (rest.length === 0) this.#byKey.delete(key);
      else this.#byKey.set(key, rest);
    }
  }

  get size(): number {
    return this.#byKey.size;
  }
}
