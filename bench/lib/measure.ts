// Timing and heap helpers used inside the case processes.

import type { BytesResult, TimeResult } from "./protocol.ts";

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Full garbage collection. Needs `--expose-gc`; the orchestrator always passes it.
 * Two passes, because objects freed by the first (e.g. weak references and
 * FinalizationRegistry cells) may only become collectable in the second.
 */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("global gc() is missing: run the case with node --expose-gc");
  gc();
  gc();
}

/** Yields to the event loop once, after all pending microtasks. */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface RepeatOptions {
  /** Untimed runs first, so the JIT and the inline caches have settled. */
  warmup: number;
  /** Timed runs wanted; the median is reported. */
  reps: number;
  /** Fewest timed runs, even when the budget is exhausted. */
  minReps: number;
  /** Stop adding timed runs (past minReps) once this much time has passed, so slow systems do not blow the total runtime. */
  budgetMs: number;
}

export const DEFAULT_REPEAT: RepeatOptions = { warmup: 2, reps: 7, minReps: 3, budgetMs: 5_000 };

/**
 * Times `run` (which does `units` units of work per call) and reports ns per
 * unit. A GC runs before every timed run so that garbage left by the previous
 * run is not collected (and billed) inside the next one, and every run starts in
 * a macrotask of its own, as work in a program does: runs chained in one
 * microtask checkpoint would make V8 keep every WeakRef target of every run
 * alive to the end (weak references are only cleared between jobs), which bills
 * systems that use them for all the runs before.
 */
export async function timePerUnit(
  units: number,
  run: () => Promise<void>,
  options: RepeatOptions = DEFAULT_REPEAT,
): Promise<TimeResult> {
  for (let i = 0; i < options.warmup; i++) {
    await macrotask();
    await run();
  }
  const samples: number[] = [];
  const startedAt = performance.now();
  while (
    samples.length < options.reps &&
    (samples.length < options.minReps || performance.now() - startedAt < options.budgetMs)
  ) {
    await macrotask();
    fullGc();
    const t0 = process.hrtime.bigint();
    await run();
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0) / units);
  }
  return { kind: "time", units, nsPerUnit: median(samples), samples };
}

/** Bytes on the V8 heap that are reachable right now (after a full GC). */
export function liveHeapBytes(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

/**
 * Measures how many bytes stay on the heap while `units` units are alive:
 * `hold()` creates them and resolves once they are all in place, the heap is
 * measured, then `release()` lets them finish. Repeated `reps` times after one
 * small warm-up round, so that code and feedback vectors are not counted.
 */
export async function heapPerUnit(
  units: number,
  round: (units: number) => Promise<{ release: () => Promise<void> }>,
  reps = 3,
): Promise<BytesResult> {
  const warm = await round(Math.min(1_000, units));
  await warm.release();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const before = liveHeapBytes();
    const held = await round(units);
    const after = liveHeapBytes();
    samples.push((after - before) / units);
    await held.release();
  }
  return { kind: "bytes", units, bytesPerUnit: median(samples), samples };
}
