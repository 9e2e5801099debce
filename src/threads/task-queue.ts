/**
 * FIFO of pool tasks with O(1) `shift`: a batch of 100,000 calls must not cost a copy of the
 * array per dispatched task (Array.prototype.shift moves every element on large arrays).
 */
export class TaskQueue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    // Compact once the consumed prefix dominates, so memory follows the live length.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Puts `items` back at the front, in their order. */
  unshiftAll(items: T[]): void {
    if (items.length === 0) return;
    if (items.length <= this.#head) {
      this.#head -= items.length;
      for (let i = 0; i < items.length; i++) this.#items[this.#head + i] = items[i];
    } else {
      this.#items = [...items, ...this.#items.slice(this.#head)];
      this.#head = 0;
    }
  }

  /** Moves the first item that `matches` to the front; returns whether one did. O(length). */
  moveToFront(matches: (item: T) => boolean): boolean {
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) {
      const item = items[i] as T;
      if (!matches(item)) continue;
      items.copyWithin(this.#head + 1, this.#head, i);
      items[this.#head] = item;
      return true;
    }
    return false;
  }

  /** Removes and returns every item, in order. */
  drain(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
