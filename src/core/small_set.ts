/**
 * A set that is usually tiny (the jobs one worker holds, the jobs one client
 * waits on: mostly one), kept in insertion order. JavaScriptCore's Set
 * allocates about 56 bytes for every add and delete of an element, so a
 * foreground job's churn through two sets cost more than its packet. Up to
 * {@link SMALL} elements live in an array that is reused and allocates
 * nothing; a larger set becomes a Set until it empties again.
 *
 * @module
 */

/** Elements kept in the array; more, and lookups become a Set's. */
const SMALL = 8;

export class SmallSet<T> implements Iterable<T> {
  #items: T[] = [];
  #set: Set<T> | undefined = undefined;

  get size(): number {
    return this.#set?.size ?? this.#items.length;
  }

  has(x: T): boolean {
    return this.#set ? this.#set.has(x) : this.#items.includes(x);
  }

  add(x: T): this {
    if (this.#set) {
      this.#set.add(x);
    } else if (!this.#items.includes(x)) {
      this.#items.push(x);
      if (this.#items.length > SMALL) {
        this.#set = new Set(this.#items);
        this.#items.length = 0;
      }
    }
    return this;
  }

  /** Removes `x` keeping the others' order; true when it was there. */
  delete(x: T): boolean {
    const set = this.#set;
    if (set) {
      const had = set.delete(x);
      if (set.size === 0) this.#set = undefined;
      return had;
    }
    const items = this.#items;
    const i = items.indexOf(x);
    if (i === -1) return false;
    for (let k = i; k < items.length - 1; k++) items[k] = items[k + 1]!;
    items.pop();
    return true;
  }

  clear(): void {
    this.#set = undefined;
    this.#items.length = 0;
  }

  /** In insertion order, over a snapshot: the set may change while it is walked. */
  [Symbol.iterator](): Iterator<T> {
    return [...(this.#set ?? this.#items)][Symbol.iterator]();
  }
}
