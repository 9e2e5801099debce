// Small shared helpers for the behavioural suite. Not a test file (vitest only picks up *.test.ts).
import v8 from "node:v8";
import vm from "node:vm";

/** Real-timer sleep; only used where ordering against timers is the point of the test. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One full macrotask turn: every microtask queued before it has run. */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface Gate<T = void> {
  promise: Promise<T>;
  open: (value: T) => void;
  fail: (error: unknown) => void;
}

/** A native promise opened from outside, so tests decide exactly when work may finish. */
export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

let gcFn: (() => void) | undefined;

/** Forces a full garbage collection (exposes `gc` at run time when node was not started with it). */
export function forceGc(): void {
  if (!gcFn) {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === "function") {
      gcFn = existing;
    } else {
      v8.setFlagsFromString("--expose-gc");
      gcFn = vm.runInNewContext("gc") as () => void;
    }
  }
  gcFn();
}

/**
 * Several GC passes separated by macrotasks: WeakRef targets are kept alive until the
 * end of the job that last dereferenced them, and finalizers run in a later task.
 */
export async function collectGarbage(rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await macrotask();
    forceGc();
  }
  await macrotask();
}

/**
 * `collectGarbage()`, then more rounds while `settled()` is false (at most `extraRounds`). Node 20
 * sometimes keeps one just-finished object reachable from engine internals for a few collections;
 * tests about what the library keeps alive must not fail on that, and still fail on a real leak.
 */
export async function collectGarbageUntil(settled: () => boolean, extraRounds = 20): Promise<void> {
  await collectGarbage();
  for (let round = 0; round < extraRounds && !settled(); round++) await collectGarbage(2);
}

/** Runs `body` with Defaults.START_SOON set to `value`, restoring the previous value afterwards. */
export async function withStartSoon<T>(
  defaults: { START_SOON: boolean },
  value: boolean,
  body: () => T | Promise<T>,
): Promise<T> {
  const previous = defaults.START_SOON;
  defaults.START_SOON = value;
  try {
    return await body();
  } finally {
    defaults.START_SOON = previous;
  }
}

/** A minimal foreign (non-native, non-promising) thenable. */
export function thenable<T>(value: T): PromiseLike<T> {
  return {
    then(onFulfilled?: any, onRejected?: any) {
      return Promise.resolve(value).then(onFulfilled, onRejected);
    },
  } as PromiseLike<T>;
}

/** The own keys of a layer box: ["value"] or ["promise"]. */
export function layerKind(layer: object): string {
  return Object.keys(layer).sort().join(",");
}
