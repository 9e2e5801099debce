// Pool functions of the "worker threads" benchmarks. A pool worker imports the module that
// decorated a function and looks the function up by its place there, so these must be
// decorated at the top level of a module that both the main thread and the workers import.
// The pool they run on is chosen by the caller (`.with({ threadPool })`).

import * as promising from "../../src/index.ts";
import { fib } from "./workers/fib.mjs";

/** The trivial task of the throughput, latency and cold-start columns. */
export const plusOne = promising.function({ useThreadPool: true }, function plusOne(x: number) {
  return x + 1;
});

/** Runs on the main thread's event loop; a pool function blocks on it with `.sync()`. */
export const asyncIdentity = promising.function(async function asyncIdentity(x: number) {
  return x;
});

/**
 * `count` blocking round trips from a pool worker to the main thread, timed inside the
 * worker (like the other rows of the round-trip table): µs per `asyncIdentity(i).sync()`.
 */
export const syncRoundTrips = promising.function(
  { useThreadPool: true },
  function syncRoundTrips(count: number) {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const answer = asyncIdentity(i).sync();
      if (answer !== i) throw new Error(`wrong answer at round trip ${i}: ${String(answer)}`);
    }
    return ((performance.now() - start) * 1000) / count;
  },
);

/** The CPU-bound task: recursive fib(n), the same code as the other rows' (workers/fib.mjs). */
export const poolFib = promising.function({ useThreadPool: true }, function poolFib(n: number) {
  return fib(n);
});
