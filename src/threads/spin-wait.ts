/**
 * A short busy wait before a blocking `Atomics.wait`, used where it pays.
 *
 * Waking a thread parked in `Atomics.wait` costs the waking thread 15 to 20 µs of CPU on the
 * machines this was measured on (a futex wake), about as much as the rest of a pool call. When
 * the answer comes within tens of microseconds (the next task of a caller awaiting one call at a
 * time, the answer to a `.sync()`), watching the shared word for a moment catches it without a
 * wake-up. When it does not (sparse calls, or a busy machine where the thread that answers is
 * slow to run), watching only burns CPU that thread may need. So each site watches only while
 * it pays: after a watch that caught nothing it parks straight away, until a park ends within
 * the watch window (watching would have caught that one).
 * Used by task-claims.ts (an idle worker) and sync-channel.ts (a blocked worker).
 */
export class SpinThenWait {
  #worthIt = true;

  constructor(private readonly microseconds: number) {}

  /**
   * Returns once `array[index]` is no longer `seen` (true) or `timeoutMs` has passed (false),
   * watching first for up to the window when that has been paying.
   */
  wait(array: Int32Array, index: number, seen: number, timeoutMs: number): boolean {
    if (this.#worthIt) {
      const until = performance.now() + this.microseconds / 1000;
      do {
        if (Atomics.load(array, index) !== seen) return true;
      } while (performance.now() < until);
      this.#worthIt = false;
    }
    const parkedAt = performance.now();
    const changed = Atomics.wait(array, index, seen, timeoutMs) !== "timed-out";
    if (changed && (performance.now() - parkedAt) * 1000 < this.microseconds) this.#worthIt = true;
    return changed;
  }
}
