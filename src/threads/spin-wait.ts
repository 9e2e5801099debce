/**
 * A short busy wait before a blocking `Atomics.wait`.
 *
 * Waking a thread parked in `Atomics.wait` costs the waking thread 15 to 20 µs of CPU on the
 * machines this was measured on (a futex wake), about as much as the rest of a pool call. When
 * the answer usually comes within tens of microseconds (the main thread's next task for a worker
 * that just finished one, the answer to a `.sync()`), watching the shared word for a moment
 * catches it without any wake-up: the notify then finds no waiter and costs almost nothing.
 * One-at-a-time pool calls went from about 44 to 30 µs (bare `postMessage`: 30 µs). The cost is
 * at most that many microseconds of CPU each time a worker runs out of tasks or blocks.
 * Used by task-claims.ts (an idle worker) and sync-channel.ts (a blocked worker).
 */

/** Watches `array[index]` for up to `microseconds`; true as soon as it is no longer `seen`. */
export function spinUntilChanged(
  array: Int32Array,
  index: number,
  seen: number,
  microseconds: number,
): boolean {
  const until = performance.now() + microseconds / 1000;
  do {
    if (Atomics.load(array, index) !== seen) return true;
  } while (performance.now() < until);
  return false;
}
