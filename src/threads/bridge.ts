/**
 * Installs the thread bridge into the core (see core/thread-contract.ts): the main-thread
 * bridge, or the worker bridge when this copy of the library is loaded inside a pool worker.
 */
import { fileURLToPath } from "node:url";
import type { CallOrigin } from "../api/function.ts";
import { activeNode, flowReaches } from "../core/active.ts";
import { PromisingError } from "../core/errors.ts";
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
import { getWorkerRuntime, type WorkerRuntime } from "./worker-runtime.ts";

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
    loopDefaultPool ??= createLibraryPool(undefined, "asyncio");
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
  runAsRoot: null,
  registerFunction,
  interceptCall: null,
};

/** Called by the public entry; an explicit call (not an import for effect) survives tree-shaking. */
export function installThreadBridgeForThisThread(): void {
  const runtime = getWorkerRuntime();
  installThreadBridge(
    runtime === undefined ? mainThreadBridge : failCallsWhileImporting(createWorkerBridge(runtime), runtime),
  );
}

/**
 * A pool worker imports the module of the function it is to run, so that module's top-level code
 * runs again in the worker. A promising function called there (`await compute(1, 2)` at the top
 * level instead of inside `main.run()`) would go to the main thread and on to the pool, whose
 * workers import the module again: awaited, it never finishes, and every worker waits in its own
 * top-level await. Such a call fails at once instead, naming the module and the fix. A call made
 * in a task's async context (a continuation of a promise an earlier task returned) is not one of
 * them, and goes through while the worker imports another module.
 */
function failCallsWhileImporting(bridge: ThreadBridge, runtime: WorkerRuntime): ThreadBridge {
  const interceptCall = bridge.interceptCall!;
  bridge.interceptCall = (origin, thisArg, args) => {
    if (runtime.importing !== null && activeNode() === null) {
      throw callWhileImporting(origin as CallOrigin, runtime.importing);
    }
    return interceptCall(origin, thisArg, args);
  };
  // `await main.run()` at a module's top level does nothing there (SPEC 1): the module's entry
  // point is for the main thread. That holds whenever no task is in the flow, not only while the
  // worker imports the module: top-level code may reach run() later, after an async preamble, a
  // timer or an I/O callback. Called while a task runs (its body or a continuation of it, where
  // the task's promise is active), run() is a call like any other.
  const runAsRoot = bridge.runAsRoot!;
  const isTask = (node: TreeNode) => runtime.taskNodes.has(node);
  bridge.runAsRoot = (origin, thisArg, args, awaitChildren) => {
    // Top-level code may have entered contexts of its own (`promising.context().run(() => main.run())`):
    // what counts is whether a task's promise is somewhere up the flow.
    if (!flowReaches(isTask)) return Promise.resolve(undefined);
    return runAsRoot(origin, thisArg, args, awaitChildren);
  };
  return bridge;
}

function callWhileImporting(origin: CallOrigin, url: string): PromisingError {
  const name = origin.namespace ?? (origin.original.name || "a promising function");
  let module = url;
  try {
    if (url.startsWith("file:")) module = fileURLToPath(url);
  } catch {
    // Keep the URL.
  }
  return new PromisingError(
    `${name} was called while a pool worker was importing ${module}, by top-level code of that module ` +
      "(or of a module it imports). Every pool worker imports the module of the pool functions it runs, " +
      "so the module's top-level code runs again in each worker: a call there would go back to the main " +
      "thread and on to the pool, whose workers import the module again, and awaiting it would hang " +
      "forever. Move top-level calls into a function run with .run() (`await main.run()` does nothing in " +
      "pool workers), or guard them with `if (isMainThread)` (from node:worker_threads).",
  );
}
