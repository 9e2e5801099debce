/**
 * Functions named by a small number across one thread pair: the first message that uses an id
 * carries the full name (a FunctionRef: module URL, name, ordinal), later ones only the id, so
 * the hot messages (tasks, calls) stay small and cheap to clone. Used in both directions.
 */

/** Sender side. */
export class ShortIds<T> {
  readonly #ids = new Map<T, number>();
  #next = 1;

  /** The id for `value`, and `value` itself when the receiver has not been sent it yet. */
  name(value: T): { id: number; full: T | undefined } {
    const known = this.#ids.get(value);
    if (known !== undefined) return { id: known, full: undefined };
    const id = this.#next++;
    this.#ids.set(value, id);
    return { id, full: value };
  }

  /** The message that introduced `value` was never sent: the next one names it in full again. */
  forget(value: T): void {
    this.#ids.delete(value);
  }
}

/** Receiver side. */
export class ShortIdNames<T> {
  readonly #values = new Map<number, T>();

  /** What `id` names: `full` when the message carries it (and then learned), else what was learned before. */
  resolve(id: number, full: T | undefined): T | undefined {
    if (full === undefined) return this.#values.get(id);
    this.#values.set(id, full);
    return full;
  }
}
