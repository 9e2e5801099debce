/**
 * State of a pool worker thread, kept on `globalThis` so every copy of the library loaded in
 * the worker (the ESM build, the CommonJS build, the sources) sees the same channel and ids.
 */
import type { TreeNode } from "../core/tree.ts";
import type { FunctionRef } from "./function-registry.ts";
import type { ShortIds } from "./short-ids.ts";
import type { SyncChannelClient } from "./sync-channel.ts";
import type { OutcomeThenable } from "./worker-host.ts";
import type { WorkerNodeRefs } from "./worker-node-refs.ts";

/**
 * Which pool a worker belongs to, as its tasks' `getThreadPoolExecutor()` reports it there: a
 * pool created at a module's top level by its name (the worker has its own copy), the default
 * pool, the pool ASYNCIO_DEFAULT maps to (reported as `null`), or `null` for a pool the worker
 * cannot name (created elsewhere than at a module's top level).
 */
export type PoolNameInWorkers = FunctionRef | "default" | "asyncio" | null;

export interface WorkerRuntime {
  readonly client: SyncChannelClient;
  /** Ids the worker hands out (positive; the main thread's are negative). */
  nextId: number;
  /** Local node → id of the main-thread node it stands for. */
  readonly ids: WeakMap<object, number>;
  /** Handles whose outcome the worker awaits asynchronously. */
  readonly watches: Map<number, OutcomeThenable>;
  /** While true, contexts created locally are mirrors of main-thread ones and are not announced. */
  mirroring: boolean;
  /** The id of the running task's promise (the parent of calls made outside any local context). */
  taskNodeId: number;
  /** The running task's promise here, while it runs (remembered in `nodeRefs` only if `taskTouched`). */
  taskNode: TreeNode | null;
  /** Whether the running task used the bridge (made calls, entered contexts, blocked). */
  taskTouched: boolean;
  /** Short ids for the functions this worker has called through the main thread. */
  readonly refIds: ShortIds<FunctionRef>;
  /** Local nodes standing for main-thread ones, and their release. */
  readonly nodeRefs: WorkerNodeRefs;
  /** The URL of the user module this worker is importing, while it does (see threads/bridge.ts). */
  importing: string | null;
  /** The pool this worker belongs to (see PoolNameInWorkers). */
  readonly pool: PoolNameInWorkers;
  /** The promises of the tasks this worker ran (their stand-ins): what tells a task's flow apart from top-level code. */
  readonly taskNodes: WeakSet<TreeNode>;
}

const kRuntime = Symbol.for("promising-ts.worker-runtime");

export function getWorkerRuntime(): WorkerRuntime | undefined {
  return (globalThis as { [kRuntime]?: WorkerRuntime })[kRuntime];
}

export function setWorkerRuntime(runtime: WorkerRuntime): void {
  (globalThis as { [kRuntime]?: WorkerRuntime })[kRuntime] = runtime;
}
