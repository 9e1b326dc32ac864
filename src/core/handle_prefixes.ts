/**
 * The handle prefixes a table's jobs carry (a handle is `<prefix>:<id>`),
 * each kept once and named by a small number that a job keeps among its
 * bits instead of a reference: this boot's prefix is 0; an earlier boot's
 * (a replayed job) or another node's (an adopted one) gets the next free
 * number. Past {@link MAX_PREFIXES} a job keeps its prefix itself.
 *
 * @module
 */

/** Prefixes a table numbers; a number fits in 16 bits, and 0xffff says "kept by the job". */
export const MAX_PREFIXES = 0xffff;

export class HandlePrefixes {
  readonly #list: string[];
  readonly #numbers = new Map<string, number>();

  constructor(own: string) {
    this.#list = [own];
    this.#numbers.set(own, 0);
  }

  /** This boot's prefix (number 0). */
  get own(): string {
    return this.#list[0]!;
  }

  /** The number of `prefix`, given one if new; -1 when every number is taken. */
  numberOf(prefix: string): number {
    if (prefix === this.#list[0]) return 0; // nearly every job: no lookup
    const n = this.#numbers.get(prefix);
    if (n !== undefined) return n;
    if (this.#list.length >= MAX_PREFIXES) return -1;
    this.#numbers.set(prefix, this.#list.length);
    this.#list.push(prefix);
    return this.#list.length - 1;
  }

  /** The prefix numbered `n`. */
  at(n: number): string {
    return this.#list[n]!;
  }

  /** The one kept string equal to `prefix`, when it has a number (many jobs share it); else `prefix`. */
  shared(prefix: string): string {
    const n = this.numberOf(prefix);
    return n < 0 ? prefix : this.#list[n]!;
  }
}
