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

/**
 * The context of code that no pool task started (the library's import): used when neither
 * lookup below finds a task, rather than whatever context the message that asked happens to
 * be handled in (the context of the first call that used the pool).
 */
const OUTSIDE_ANY_TASK = new AsyncResource("promising-ts.outside-tasks", { requireManualDestroy: true });

function taskContextOf(node: TreeNode | null): AsyncResource | undefined {
  for (let current = node; current !== null; current = current._parent) {
    const context = contexts.get(current);
    if (context !== undefined) return context;
  }
  return undefined;
}

/**
 * Runs `fn` in the context of the nearest pool task at or above `node`; failing that (a root
 * made in a worker), of the one at or above `fallback` (the task that made the call).
 */
export function runInTaskContext<R>(node: TreeNode | null, fallback: TreeNode | null, fn: () => R): R {
  const context = taskContextOf(node) ?? taskContextOf(fallback) ?? OUTSIDE_ANY_TASK;
  return context.runInAsyncScope(fn);
}
