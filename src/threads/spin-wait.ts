/**
 * A short busy wait before a blocking `Atomics.wait`, used where it pays.
 *
 * Waking a thread parked in `Atomics.wait` is slow on the machines this was measured on: the
 * waking thread spends 15 to 20 µs in the futex wake, and the woken one runs 20 to 30 µs later,
 * about as much as the rest of a pool call. When the answer comes within tens of microseconds
 * (the next task of a caller awaiting one call at a time, the answer to a `.sync()`), watching
 * the shared word for a moment catches it without a wake-up. When it does not (sparse calls, or
 * a busy machine where the thread that answers is slow to run), watching only burns CPU that
 * thread may need. {@link WatchPolicy} decides, from what the last waits showed.
 * Used by task-claims.ts (an idle worker) and sync-channel.ts (a blocked worker).
 */

/** The most parks made without watching between two watches that caught nothing. */
export const MAX_PARKS_BETWEEN_WATCHES = 256;

/**
 * When to watch before parking: always while watching catches the change; after a watch that
 * caught nothing, park straight away for the next 1, 2, 4, … (at most
 * MAX_PARKS_BETWEEN_WATCHES) waits, then try watching again. A park that ends within the
 * window shows that watching would have caught it, and brings watching back at once.
 *
 * Why retry at all: a single slow answer (a garbage collection, a burst of other work) makes a
 * watch fail, and what parking shows afterwards cannot tell a slow answer from a fast one,
 * because every park also pays the wake-up (20 to 30 µs here), which a watch does not. Without
 * retries one hiccup left a one-at-a-time caller paying wake-ups for thousands of calls (the
 * pool's latency went from about 32 to 70 µs per call), while a retry every few hundred parks
 * costs a caller with truly sparse calls under 1% of a core.
 */
export class WatchPolicy {
  /** Waits that park at once before the next watch. */
  #parksBeforeWatch = 0;
  /** What #parksBeforeWatch becomes after the next failed watch. */
  #backoff = 1;

  constructor(readonly windowMicroseconds: number) {}

  /** Whether the next wait should watch first. */
  shouldWatch(): boolean {
    return this.#parksBeforeWatch === 0;
  }

  /** A watch caught the change (true) or ran out its window (false). */
  watched(caught: boolean): void {
    if (caught) {
      this.#backoff = 1;
      return;
    }
    this.#parksBeforeWatch = this.#backoff;
    this.#backoff = Math.min(2 * this.#backoff, MAX_PARKS_BETWEEN_WATCHES);
  }

  /** A park ended after `microseconds` (`Infinity`: it timed out). */
  parked(microseconds: number): void {
    if (microseconds < this.windowMicroseconds) {
      this.#parksBeforeWatch = 0;
      this.#backoff = 1;
    } else if (this.#parksBeforeWatch > 0) this.#parksBeforeWatch--;
  }
}

export class SpinThenWait {
  readonly #policy: WatchPolicy;

  constructor(microseconds: number) {
    this.#policy = new WatchPolicy(microseconds);
  }

  /**
   * Returns once `array[index]` is no longer `seen` (true) or `timeoutMs` has passed (false),
   * watching first for up to the window when the policy says it pays.
   */
  wait(array: Int32Array, index: number, seen: number, timeoutMs: number): boolean {
    const policy = this.#policy;
    if (policy.shouldWatch()) {
      const until = performance.now() + policy.windowMicroseconds / 1000;
      do {
        if (Atomics.load(array, index) !== seen) {
          policy.watched(true);
          return true;
        }
      } while (performance.now() < until);
      policy.watched(false);
    }
    const parkedAt = performance.now();
    const changed = Atomics.wait(array, index, seen, timeoutMs) !== "timed-out";
    policy.parked(changed ? (performance.now() - parkedAt) * 1000 : Number.POSITIVE_INFINITY);
    return changed;
  }
}
