/**
 * Who runs a prefetched task: the worker it was sent to, or the main thread taking it back.
 *
 * The pool sends a busy worker a few tasks ahead (one message per batch, so the main thread
 * pays for posting once per batch, not per task). A task sent ahead must still be movable:
 * when its worker blocks in `.sync()` (the queued task could be the very work it waits for)
 * or another worker goes idle. Both threads race for it with one compare-and-swap on a
 * shared slot, so exactly one wins and nothing needs a round trip:
 *
 *   0     free slot
 *   seq   offered to the worker (seq > 0, the task's sequence number)
 *   -seq  claimed by the worker: it runs (or ran) the task
 *
 * The worker claims with CAS(seq → -seq) before running a task and skips it when that fails;
 * the main thread takes a task back with CAS(seq → 0). The sequence number (not just "offered")
 * in the slot keeps a stale message for a reused slot from claiming the new task.
 */

import { SpinThenWait } from "./spin-wait.ts";

/** Slots per worker: the most tasks one worker can have sent to it and unfinished. */
export const CLAIM_SLOTS = 64;

/**
 * After the slots: a counter the main thread bumps (and notifies) after each message it posts to
 * the worker. An idle worker waits on it briefly with `Atomics.wait` instead of going back to its
 * event loop, which wakes it several times faster for the next task (see worker-entry.ts).
 */
const POSTED = CLAIM_SLOTS;

/** Main-thread side of one worker's claim slots. */
export class TaskClaims {
  readonly buffer = new SharedArrayBuffer((CLAIM_SLOTS + 1) * Int32Array.BYTES_PER_ELEMENT);
  readonly #slots = new Int32Array(this.buffer);
  readonly #free: number[] = Array.from({ length: CLAIM_SLOTS }, (_, index) => CLAIM_SLOTS - 1 - index);

  get available(): number {
    return this.#free.length;
  }

  /** Offers task `seq` (> 0) in a free slot and returns the slot; throws if none is free. */
  offer(seq: number): number {
    const index = this.#free.pop();
    if (index === undefined) throw new Error("Internal error: no free claim slot.");
    Atomics.store(this.#slots, index, seq);
    return index;
  }

  /** Takes an offered task back; false when the worker has claimed it already. Frees the slot on success. */
  reclaim(index: number, seq: number): boolean {
    if (Atomics.compareExchange(this.#slots, index, seq, 0) !== seq) return false;
    this.#free.push(index);
    return true;
  }

  /** Whether the worker has claimed the task in `index`. */
  claimed(index: number, seq: number): boolean {
    return Atomics.load(this.#slots, index) === -seq;
  }

  /** Wakes the worker if it waits for a message (call after posting one). */
  notifyPosted(): void {
    Atomics.add(this.#slots, POSTED, 1);
    Atomics.notify(this.#slots, POSTED);
  }

  /** Frees the slot of a finished (claimed) task. */
  release(index: number): void {
    Atomics.store(this.#slots, index, 0);
    this.#free.push(index);
  }
}

/** Worker side: claims task `seq` in `index`; false when the main thread took it back. */
export function claimTask(slots: Int32Array, index: number, seq: number): boolean {
  return Atomics.compareExchange(slots, index, seq, -seq) === seq;
}

/** Worker side: the posted-messages counter, to pass to `waitForPosted` after checking the port. */
export function postedCount(slots: Int32Array): number {
  return Atomics.load(slots, POSTED);
}

/** An idle worker watches for its next task for up to 50 µs (a one-at-a-time caller's next call comes within that). */
const nextTask = new SpinThenWait(50);

/** Worker side: blocks until a message is posted after `seen` was read, or `timeoutMs` passes. */
export function waitForPosted(slots: Int32Array, seen: number, timeoutMs: number): boolean {
  return nextTask.wait(slots, POSTED, seen, timeoutMs);
}
