// The tasks of the "async children" group: what each system under test must
// implement (AsyncSystem) and how each measurement is taken from it.

import { runCase, type Tasks } from "./case.ts";
import { orCrash } from "./crash.ts";
import { heapPerUnit, macrotask, timePerUnit } from "./measure.ts";
import { describeError, type OutcomeResult } from "./protocol.ts";

/** Children in the fan-out: one parent creates them all and awaits them all. */
export const FAN_OUT = 100_000;
/** Levels in the timed chain; shallow enough for every system's stack. */
export const CHAIN_DEPTH = 10_000;
/** Children held pending while the heap is measured. */
export const PENDING = 100_000;
/** Levels in the deep chain, which only has to complete (native async functions overflow here). */
export const DEEP_CHAIN_DEPTH = 100_000;

/** Children held pending on a gate, see AsyncSystem.pending. */
export interface PendingTree {
  /** How many children have started and are now waiting on the gate. */
  started(): number;
  /** Opens the gate; resolves with the number of children that completed. */
  release(): Promise<number>;
}

/** What a case file implements, in that system's own idiom. */
export interface AsyncSystem {
  /** A parent creates `n` children (child `i` returns `i`), awaits them all, and resolves with the sum. */
  fanOut(n: number): Promise<number>;
  /** `depth` levels, each awaiting the call of the next one; the last returns 0. Resolves with 0. */
  chain(depth: number): Promise<number>;
  /**
   * A parent creates `n` children that each count themselves as started and
   * then wait on one shared, not yet resolved gate; the parent then waits on the
   * gate itself and afterwards on all children.
   */
  pending(n: number): PendingTree;
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await macrotask();
  }
}

function expectEqual(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${expected}, got ${actual}`);
}

/** Native and Effect errors differ in wrapping; look through causes for V8's overflow message. */
function isStackOverflow(error: unknown, seen = new Set<unknown>()): boolean {
  if (error === null || typeof error !== "object" || seen.has(error)) return false;
  seen.add(error);
  const e = error as { message?: unknown; cause?: unknown; errors?: unknown; error?: unknown };
  if (typeof e.message === "string" && e.message.includes("Maximum call stack size exceeded")) return true;
  if (isStackOverflow(e.cause, seen) || isStackOverflow(e.error, seen)) return true;
  return Array.isArray(e.errors) && e.errors.some((inner) => isStackOverflow(inner, seen));
}

/** Default sizes per task; the orchestrator may pass a smaller one for a slow system. */
export const ASYNC_SIZES = {
  fanOut: FAN_OUT,
  chain: CHAIN_DEPTH,
  heap: PENDING,
  deepChain: DEEP_CHAIN_DEPTH,
} as const;

export const ASYNC_TASKS: Tasks<AsyncSystem> = {
  fanOut: (system, n = FAN_OUT) =>
    timePerUnit(n, async () => {
      expectEqual(await system.fanOut(n), (n * (n - 1)) / 2, "fan-out sum");
    }),

  chain: (system, depth = CHAIN_DEPTH) =>
    timePerUnit(depth, async () => {
      expectEqual(await system.chain(depth), 0, "chain result");
    }),

  heap: (system, size = PENDING) =>
    heapPerUnit(size, async (n) => {
      const tree = system.pending(n);
      // Some systems start children lazily or in scheduler batches: measure only once all wait.
      await waitUntil(() => tree.started() >= n, `${n} children to start`);
      await macrotask();
      return {
        release: async () => expectEqual(await tree.release(), n, "completed children"),
      };
    }),

  deepChain: async (system, depth = DEEP_CHAIN_DEPTH): Promise<OutcomeResult> => {
    // Warm-up with short chains (Effect overflows at about 2k levels), so that
    // the timing below is not mostly compilation.
    for (let i = 0; i < 5; i++) await system.chain(200);
    const t0 = performance.now();
    try {
      const value = await orCrash(system.chain(depth));
      const ms = performance.now() - t0;
      if (value !== 0) return { kind: "outcome", ok: false, status: `wrong result ${value}`, ms };
      return { kind: "outcome", ok: true, status: "ok", ms };
    } catch (error) {
      const ms = performance.now() - t0;
      const status = isStackOverflow(error) ? "stack overflow" : `error: ${describeError(error)}`;
      return { kind: "outcome", ok: false, status, ms };
    }
  },
};

/** Entry point of every case file in this group. */
export function runAsyncCase(load: () => AsyncSystem | Promise<AsyncSystem>): Promise<void> {
  return runCase(ASYNC_TASKS, load);
}
