/**
 * Installs the thread bridge into the core (see core/thread-contract.ts): the main-thread
 * bridge, or the worker bridge when this copy of the library is loaded inside a pool worker.
 */
import type { CallOrigin } from "../api/function.ts";
import type { PromisingPromise } from "../core/promise.ts";
import { installThreadBridge, type ThreadBridge } from "../core/thread-contract.ts";
import { traceOf } from "../core/trace.ts";
import type { TreeNode } from "../core/tree.ts";
import { PromiseBackedConcurrentFuture } from "./concurrent-future.ts";
import { type FunctionRef, registerFunction } from "./function-registry.ts";
import { createLibraryPool, ThreadPool } from "./pool.ts";
import { rememberTaskContext } from "./task-context.ts";
import { createWorkerBridge, encodeThis } from "./worker-bridge.ts";
import { OutcomeThenable } from "./worker-host.ts";
import { getWorkerRuntime } from "./worker-runtime.ts";

/**
 * ASYNCIO_DEFAULT: Python hands such functions to the event loop's own default executor. Node's
 * event loop has no executor that can run JavaScript, so promising-ts keeps a separate,
 * library-owned pool for them, distinct from Defaults.PROMISING_THREAD_POOL (docs/threads.md).
 */
let loopDefaultPool: ThreadPool | null = null;

const mainThreadBridge: ThreadBridge = {
  isThreadPool: (value: unknown): value is ThreadPool => value instanceof ThreadPool,
  createDefaultPool: () => createLibraryPool(),
  isBlockingAllowed: () => false,
  blockOn() {
    throw new Error("promising-ts: blocking is only possible in worker threads.");
  },
  awaitChildrenSync() {
    throw new Error("promising-ts: blocking is only possible in worker threads.");
  },
  runOnPool(promise, work, thisArg, args) {
    const origin = work as CallOrigin;
    const node = promise as TreeNode;
    loopDefaultPool ??= createLibraryPool();
    const pool = (node._pool as ThreadPool | null) ?? loopDefaultPool;
    // Runs in the async context that started the promise (core/promise.ts, scheduleStart).
    rememberTaskContext(node);
    const outcome = new OutcomeThenable();
    pool._run({
      promise: node,
      ref: origin.identity.ref as FunctionRef,
      name: origin.namespace ?? (origin.original.name || "anonymous function"),
      self: encodeThis(thisArg, origin.identity),
      args,
      ancestors: node._parent === null ? [] : traceOf(node._parent),
      outcome,
    });
    return outcome;
  },
  concurrentFuture: (promise) =>
    PromiseBackedConcurrentFuture._forPromise(promise as PromisingPromise<unknown>),
  isPoolWorker: () => false,
  registerFunction,
  interceptCall: null,
};

/** Called by the public entry; an explicit call (not an import for effect) survives tree-shaking. */
export function installThreadBridgeForThisThread(): void {
  const runtime = getWorkerRuntime();
  installThreadBridge(runtime === undefined ? mainThreadBridge : createWorkerBridge(runtime));
}
