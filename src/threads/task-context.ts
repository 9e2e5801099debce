/**
 * The async context each pool task was started in, so that the calls its worker makes back into
 * the main thread run in it too: another library's AsyncLocalStorage values (a request id, a
 * tracing span) follow the work across the thread hop, as they follow any promise's work.
 */
import { AsyncResource } from "node:async_hooks";
import type { TreeNode } from "../core/tree.ts";

const contexts = new WeakMap<TreeNode, AsyncResource>();

/** Captures the current async context for the pool task of `node` (call when it starts). */
export function rememberTaskContext(node: TreeNode): void {
  contexts.set(node, new AsyncResource("promising-ts.pool-task", { requireManualDestroy: true }));
}

/** Runs `fn` in the context of the nearest pool task at or above `node`, or as it is if there is none. */
export function runInTaskContext<R>(node: TreeNode, fn: () => R): R {
  for (let current: TreeNode | null = node; current !== null; current = current._parent) {
    const context = contexts.get(current);
    if (context !== undefined) return context.runInAsyncScope(fn);
  }
  return fn();
}
