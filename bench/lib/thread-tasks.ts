// The tasks of the "worker threads" group: what each system under test implements
// (ThreadSystem, any subset of its three parts) and how each measurement is taken.

import { runCase, type Tasks } from "./case.ts";
import { median, type RepeatOptions, timePerUnit } from "./measure.ts";
import type { TimeResult } from "./protocol.ts";

/** Worker threads of every pool, the same for every system (the benchmark machine has 2 cores). */
export const THREADS = 2;
/** Tasks submitted at once in the throughput column. */
export const THROUGHPUT_TASKS = 20_000;
/** One-at-a-time tasks whose latencies make the latency column's median. */
export const LATENCY_TASKS = 2_000;
/** Blocking round trips per timed run of the round-trip column. */
export const ROUND_TRIPS = 5_000;
/** The CPU-bound batch: CPU_TASKS × fib(FIB_N). */
export const CPU_TASKS = 16;
export const FIB_N = 30;
const FIB_RESULT = 832_040;

/** A pool of THREADS workers; `start()` creates it (the workers start there). */
export interface PoolSystem {
  start(): void | Promise<void>;
  /** The trivial task, run on the pool: resolves with x + 1. */
  plusOne(x: number): Promise<number>;
  close(): Promise<void>;
}

/** A thread that blocks until another thread answers; see cases/sync-roundtrip.ts. */
export interface BlockingSystem {
  /** Makes `count` blocking round trips (payload i, answer i); resolves with µs per round trip. */
  batch(count: number): Promise<number>;
  close(): Promise<void>;
}

/** Where recursive fib(FIB_N) runs; `start()` creates the pool, if any. */
export interface CpuSystem {
  start(): void | Promise<void>;
  fib(n: number): number | Promise<number>;
  close(): Promise<void>;
}

/** Factories, so that the cold columns can time a system's start in a fresh process. */
export interface ThreadSystem {
  pool?: () => PoolSystem;
  blocking?: () => Promise<BlockingSystem>;
  cpu?: () => CpuSystem;
}

export const THREAD_SIZES = {
  throughput: THROUGHPUT_TASKS,
  latency: LATENCY_TASKS,
  coldStart: 1,
  roundTrip: ROUND_TRIPS,
  cpuWarm: CPU_TASKS,
  cpuCold: CPU_TASKS,
} as const;

/** Bounded, so that a slow system keeps the section short (see README). */
const THROUGHPUT_REPEAT: RepeatOptions = { warmup: 0, reps: 5, minReps: 3, budgetMs: 3_000 };
const ROUND_TRIP_REPEAT: RepeatOptions = { warmup: 0, reps: 5, minReps: 3, budgetMs: 3_000 };
const CPU_REPEAT: RepeatOptions = { warmup: 1, reps: 5, minReps: 3, budgetMs: 3_000 };
/** Rounds of one-at-a-time tasks; the column reports the median of all their latencies. */
const LATENCY_ROUNDS = 5;

function part<K extends keyof ThreadSystem>(system: ThreadSystem, key: K): NonNullable<ThreadSystem[K]> {
  const factory = system[key];
  if (factory === undefined) throw new Error(`this system has no ${key} part`);
  return factory as NonNullable<ThreadSystem[K]>;
}

/**
 * execArgv of the workers of the plain-JavaScript systems (bare worker_threads, Piscina).
 * Workers inherit the case process's `--import <tsx>`, which only the harness needs: it would
 * add a few hundred ms to each of their starts. (Per-process flags such as --expose-gc are
 * refused in an explicit execArgv, so nothing is kept.)
 */
export const JS_WORKER_EXEC_ARGV: readonly string[] = [];

/** One sample that is not repeated (a cold start); shown like any time. */
function single(ns: number): TimeResult {
  return { kind: "time", units: 1, nsPerUnit: ns, samples: [ns] };
}

async function submitAll(pool: PoolSystem, n: number): Promise<void> {
  const all: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++) all[i] = pool.plusOne(i);
  const results = await Promise.all(all);
  for (let i = 0; i < n; i++) {
    if (results[i] !== i + 1) throw new Error(`task ${i}: expected ${i + 1}, got ${results[i]}`);
  }
}

/** Starts a pool and runs tasks on every worker once, so that no timing includes a worker's start. */
async function warmPool(pool: PoolSystem): Promise<void> {
  await pool.start();
  // Every worker has started (and, for TypeScript workers, registered tsx) once this returns.
  await submitAll(pool, 200 * THREADS);
  await submitAll(pool, 2_000);
}

async function fibBatch(cpu: CpuSystem, tasks: number): Promise<void> {
  const all: (number | Promise<number>)[] = [];
  for (let i = 0; i < tasks; i++) all.push(cpu.fib(FIB_N));
  for (const value of await Promise.all(all)) {
    if (value !== FIB_RESULT) throw new Error(`fib(${FIB_N}): expected ${FIB_RESULT}, got ${value}`);
  }
}

export const THREAD_TASKS: Tasks<ThreadSystem> = {
  async throughput(system, n = THROUGHPUT_TASKS) {
    const pool = part(system, "pool")();
    await warmPool(pool);
    // ns per task of the whole batch; the column shows it as tasks per second.
    return timePerUnit(n, () => submitAll(pool, n), THROUGHPUT_REPEAT);
  },

  async latency(system, n = LATENCY_TASKS) {
    const pool = part(system, "pool")();
    await warmPool(pool);
    const perRound = Math.ceil(n / LATENCY_ROUNDS);
    const all: number[] = [];
    const roundMedians: number[] = [];
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      const latencies: number[] = [];
      for (let i = 0; i < perRound; i++) {
        const t0 = process.hrtime.bigint();
        const value = await pool.plusOne(i);
        latencies.push(Number(process.hrtime.bigint() - t0));
        if (value !== i + 1) throw new Error(`task ${i}: expected ${i + 1}, got ${value}`);
      }
      roundMedians.push(median(latencies));
      all.push(...latencies);
    }
    return { kind: "time", units: all.length, nsPerUnit: median(all), samples: roundMedians };
  },

  async coldStart(system) {
    const t0 = process.hrtime.bigint();
    const pool = part(system, "pool")();
    await pool.start();
    const value = await pool.plusOne(1);
    const ns = Number(process.hrtime.bigint() - t0);
    if (value !== 2) throw new Error(`first task: expected 2, got ${value}`);
    return single(ns);
  },

  async roundTrip(system, n = ROUND_TRIPS) {
    const blocking = await part(system, "blocking")();
    try {
      // The first batch also starts the worker (and registers tsx there).
      await blocking.batch(n);
      // The runners report µs per round trip measured in the blocking thread; keep those.
      const samples: number[] = [];
      const startedAt = performance.now();
      while (
        samples.length < ROUND_TRIP_REPEAT.reps &&
        (samples.length < ROUND_TRIP_REPEAT.minReps ||
          performance.now() - startedAt < ROUND_TRIP_REPEAT.budgetMs)
      ) {
        samples.push((await blocking.batch(n)) * 1e3);
      }
      return { kind: "time", units: n, nsPerUnit: median(samples), samples };
    } finally {
      await blocking.close();
    }
  },

  async cpuWarm(system, tasks = CPU_TASKS) {
    const cpu = part(system, "cpu")();
    await cpu.start();
    // A warm-up batch: every worker has started and compiled fib before the timed runs.
    await fibBatch(cpu, tasks);
    return timePerUnit(1, () => fibBatch(cpu, tasks), CPU_REPEAT);
  },

  async cpuCold(system, tasks = CPU_TASKS) {
    const t0 = process.hrtime.bigint();
    const cpu = part(system, "cpu")();
    await cpu.start();
    await fibBatch(cpu, tasks);
    return single(Number(process.hrtime.bigint() - t0));
  },
};

/** Entry point of every case file in this group. */
export function runThreadCase(load: () => ThreadSystem | Promise<ThreadSystem>): Promise<void> {
  return runCase(THREAD_TASKS, load);
}
