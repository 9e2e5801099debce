/**
 * The small interface through which the thread bridge plugs into the core.
 * The core never imports worker_threads code; `src/threads/` installs a bridge when it is
 * loaded (the public entry loads it), so the core stays testable and readable alone.
 */
import type { TransferListItem } from "node:worker_threads";
import type { CollectOptions, TreeNode } from "./tree.ts";

/** What the core needs of a pool: identity, and a way to close it. */
export interface ThreadPoolLike {
  close(): Promise<void>;
}

/** A blocking view of a promise for worker threads (implemented by PromiseBackedConcurrentFuture). */
export interface ConcurrentFuture<T> {
  /** Pass as `transferList` when handing the future to a worker in `workerData`. */
  readonly transferList: TransferListItem[];
  done(): boolean;
  result(options?: { timeoutMs?: number | null }): T;
  exception(options?: { timeoutMs?: number | null }): unknown;
}

export interface ThreadBridge {
  /** True for values that may be used as `threadPool`. */
  isThreadPool(value: unknown): value is ThreadPoolLike;
  /** Creates the process-wide default pool (called lazily, once). It must not start threads yet. */
  createDefaultPool(): ThreadPoolLike;
  /** Whether the current thread may block (a pool worker); false on the thread that owns the event loop. */
  isBlockingAllowed(): boolean;
  /** Blocks the current (worker) thread until `promise` settles: fully (`full`) or one level (`once`). */
  blockOn(promise: TreeNode, mode: "full" | "once", timeoutMs: number | null | undefined): unknown;
  /** Blocks the current (worker) thread until `node` has no running children. */
  awaitChildrenSync(node: TreeNode, recursively: boolean, timeoutMs: number | null | undefined): void;
  /** Runs a `useThreadPool: true` function for `promise` on its pool; the thenable settles with the outcome. */
  runOnPool(promise: TreeNode, fn: unknown, thisArg: unknown, args: unknown[]): PromiseLike<unknown>;
  /** The concurrent-future view of `promise`. */
  concurrentFuture(promise: TreeNode): ConcurrentFuture<unknown>;
  /** True inside a pool worker. */
  isPoolWorker(): boolean;
  /**
   * `fn.run()` in a pool worker: a no-op (resolves to `undefined`) outside any pool function (no
   * task in the flow: a module's top-level code); otherwise the main thread runs the call as a root of its tree and
   * waits for it as `run()` does there (`awaitChildren`: RECURSIVELY, true or false). `null` on the
   * main thread: `run()` runs locally.
   */
  runAsRoot:
    | ((origin: unknown, thisArg: unknown, args: unknown[], awaitChildren: unknown) => Promise<unknown>)
    | null;
  /**
   * Names a decorated function so other threads can call it (see threads/function-registry.ts).
   * With `required` (pool functions) it throws DecorationError when the module cannot be found.
   */
  registerFunction(
    target: object,
    name: string,
    module: string | URL | undefined,
    required: boolean,
    /** For methods: "static" or "instance" (they are named apart from plain functions). */
    placement?: "static" | "instance",
  ): unknown;
  /**
   * In a pool worker, calls of decorated functions become children in the main thread's tree;
   * this returns the local handle. `null` on the main thread: calls run locally.
   */
  interceptCall: ((origin: unknown, thisArg: unknown, args: unknown[]) => TreeNode) | null;
  /** Told about every new PromisingContext (a pool worker mirrors it into the main thread's tree). */
  onContextCreated?(node: TreeNode, options: Readonly<Record<string, unknown>>): void;
  /**
   * In a pool worker: asks the main thread whether the promise a stand-in stands for has settled,
   * and if so settles the stand-in (for `done()`, `result()`, `error()` polled while the worker's
   * own event loop cannot turn). `observe`: the caller reads the outcome (result/error).
   */
  refreshStandIn?(promise: TreeNode, observe: boolean): void;
  /**
   * In a pool worker: `collectRemainingChildren()` of `node`, whose descendants may live on the
   * main thread (children of async functions it called): the main thread collects there, and the
   * worker's stand-ins for what it lists are merged with the worker's own nodes. `isDone` is the
   * core's notion of a finished node.
   */
  collectRemaining?(
    node: TreeNode,
    options: CollectOptions | undefined,
    isDone: (node: TreeNode) => boolean,
  ): Set<TreeNode>;
  /**
   * In a pool worker: a stand-in's rejection, learned without being observed (see settleStandIn
   * in core/promise.ts), has now been observed here: the main thread stops tracking the failure.
   */
  observedStandIn?(promise: TreeNode): void;
}

const unavailable = (what: string) => (): never => {
  throw new Error(`promising-ts: ${what} needs the thread bridge; import from "promising-ts".`);
};

let bridge: ThreadBridge = {
  isThreadPool: (_value: unknown): _value is ThreadPoolLike => false,
  createDefaultPool: unavailable("a thread pool"),
  isBlockingAllowed: () => false,
  blockOn: unavailable("blocking"),
  awaitChildrenSync: unavailable("blocking"),
  runOnPool: unavailable("useThreadPool: true"),
  concurrentFuture: unavailable("asConcurrentFuture()"),
  isPoolWorker: () => false,
  runAsRoot: null,
  registerFunction: () => null,
  interceptCall: null,
};

export function getThreadBridge(): ThreadBridge {
  return bridge;
}

/** @internal Called once by `src/threads/` at load time. */
export function installThreadBridge(next: ThreadBridge): void {
  bridge = next;
}
