/**
 * A table of values keyed by increasing integer ids, in pages of 4,096
 * slots. Ids are handed out in order, so inserts fill the newest page and a
 * page is dropped once its last value leaves: O(1) insert, lookup and
 * delete, no rehashing as the table grows to millions (a Map<number> spent
 * a measurable share of the background-submit path there), and memory
 * proportional to the pages that still hold live values.
 *
 * @module
 */

const PAGE = 4096;

interface Page<T> {
  slots: (T | undefined)[];
  live: number;
}

export class IdTable<T> {
  readonly #pages = new Map<number, Page<T>>();
  #last: Page<T> | undefined;
  #lastNo = -1;
  /** The newest page is kept even when empty: ids keep arriving there. */
  #newestNo = -1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  #page(no: number): Page<T> | undefined {
    if (no === this.#lastNo) return this.#last;
    const page = this.#pages.get(no);
    if (page) {
      this.#last = page;
      this.#lastNo = no;
    }
    return page;
  }

  get(id: number): T | undefined {
    return this.#page(Math.floor(id / PAGE))?.slots[id % PAGE];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, value: T): void {
    const no = Math.floor(id / PAGE);
    let page = this.#page(no);
    if (!page) {
      page = { slots: new Array<T | undefined>(PAGE).fill(undefined), live: 0 };
      this.#pages.set(no, page);
      if (no > this.#newestNo) {
        const previous = this.#pages.get(this.#newestNo);
        if (previous && previous.live === 0) this.#pages.delete(this.#newestNo);
        this.#newestNo = no;
      }
      this.#last = page;
      this.#lastNo = no;
    }
    const i = id % PAGE;
    if (page.slots[i] === undefined) {
      page.live++;
      this.#size++;
    }
    page.slots[i] = value;
  }

  delete(id: number): boolean {
    const no = Math.floor(id / PAGE);
    const page = this.#page(no);
    const i = id % PAGE;
    if (!page || page.slots[i] === undefined) return false;
    page.slots[i] = undefined;
    this.#size--;
    if (--page.live === 0 && no !== this.#newestNo) {
      this.#pages.delete(no);
      if (this.#lastNo === no) {
        this.#last = undefined;
        this.#lastNo = -1;
      }
    }
    return true;
  }

  /** Live values, by page creation order then id. */
  *values(): IterableIterator<T> {
    for (const page of this.#pages.values()) {
      for (const v of page.slots) if (v !== undefined) yield v;
    }
  }
}
