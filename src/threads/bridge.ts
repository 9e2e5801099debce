/**
 * Installs the thread bridge into the core (see core/thread-contract.ts).
 */

import type { PromisingPromise } from "../core/promise.ts";
import { installThreadBridge } from "../core/thread-contract.ts";
import { PromiseBackedConcurrentFuture } from "./concurrent-future.ts";
import { registerFunction } from "./function-registry.ts";
import { ThreadPool } from "./pool.ts";

/** Called by the public entry; an explicit call (not an import for effect) survives tree-shaking. */
export function installMainThreadBridge(): void {
  installThreadBridge({
    isThreadPool: (value: unknown): value is ThreadPool => value instanceof ThreadPool,
    createDefaultPool: () => new ThreadPool(),
    isBlockingAllowed: () => false,
    blockOn() {
      throw new Error("promising-ts: blocking from worker threads is not available yet.");
    },
    awaitChildrenSync() {
      throw new Error("promising-ts: blocking from worker threads is not available yet.");
    },
    runOnPool() {
      return Promise.reject(new Error("promising-ts: useThreadPool: true is not available yet."));
    },
    concurrentFuture: (promise) =>
      PromiseBackedConcurrentFuture._forPromise(promise as PromisingPromise<unknown>),
    isPoolWorker: () => false,
    registerFunction,
    interceptCall: null,
  });
}
