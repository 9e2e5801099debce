/**
 * Which context is active. AsyncLocalStorage carries it through awaits, timers and callbacks,
 * which is what makes a promise created "inside" another one its child (SPEC 2.5).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { EXPLICIT_PARENT, IS_PROMISE, SELF_DONE, type TreeNode } from "./tree.ts";

// One storage per process, shared through the global registry of symbols: a program (or a pool
// worker) that loads both the ESM and the CommonJS build of the library still sees one active
// context, so nodes created by either copy nest correctly.
const kStorage = Symbol.for("promising-ts.active-context");
const globalSlots = globalThis as { [kStorage]?: AsyncLocalStorage<TreeNode> };
const storage = (globalSlots[kStorage] ??= new AsyncLocalStorage<TreeNode>());

export function activeNode(): TreeNode | null {
  return storage.getStore() ?? null;
}

/** Runs `fn(arg)` with `node` as the active context (passing the argument avoids a closure per call). */
export function runWithActive<A, R>(node: TreeNode, fn: (arg: A) => R, arg: A): R {
  return storage.run(node, fn, arg);
}

/**
 * Makes `node` the active context for the rest of the current async-context scope, without
 * restoring the previous one: only for a job that runs alone in a scope of its own (see
 * scheduler.ts `Job.runJob`). On Node 24 this copies the context frame once where `run`
 * copies it twice (entering and restoring).
 */
export function enterActive(node: TreeNode): void {
  storage.enterWith(node);
}

/**
 * Whether `node` is entered in the current flow (SPEC 4.3: re-entering it throws
 * ContextAlreadyActiveError): it is the active context, or an ancestor reached from it through
 * implicit parent links only — each link a node created inside its parent's flow — that is
 * not a promise whose work has finished. A node linked by an explicit `parent` (say, a context
 * never entered) did not start its work inside that parent's flow, so the walk stops there.
 */
export function isEnteredInFlow(node: TreeNode): boolean {
  let current = activeNode();
  if (current === node) return true;
  while (current !== null && !(current._flags & EXPLICIT_PARENT)) {
    current = current._parent;
    if (current === node) return !(node._flags & IS_PROMISE && node._flags & SELF_DONE);
  }
  return false;
}
