/**
 * A binary min-heap of deadlines. Entries are never removed early: the core
 * checks on expiry whether an entry still applies (lazy invalidation), which
 * keeps arming and cancelling O(log n) and O(1).
 *
 * @module
 */

/** One scheduled wake-up of the core. */
export interface Deadline<T> {
  at: number;
  value: T;
}

/** Min-heap ordered by `at`; ties keep insertion order. */
export class DeadlineHeap<T> {
  #items: { at: number; n: number; value: T }[] = [];
  #n = 0;

  get size(): number {
    return this.#items.length;
  }

  /** Earliest deadline, or `undefined` when empty. */
  peek(): number | undefined {
    return this.#items[0]?.at;
  }

  push(at: number, value: T): void {
    const items = this.#items;
    items.push({ at, n: this.#n++, value });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  /** Removes and returns every entry due at or before `now`, earliest first. */
  popDue(now: number): T[] {
    const out: T[] = [];
    while (this.#items.length > 0 && this.#items[0]!.at <= now) out.push(this.#pop());
    return out;
  }

  #pop(): T {
    const items = this.#items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.#less(l, m)) m = l;
        if (r < items.length && this.#less(r, m)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top.value;
  }

  #less(a: number, b: number): boolean {
    const x = this.#items[a]!;
    const y = this.#items[b]!;
    return x.at < y.at || (x.at === y.at && x.n < y.n);
  }
}
