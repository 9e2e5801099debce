/**
 * Which context is active. AsyncLocalStorage carries it through awaits, timers and callbacks,
 * which is what makes a promise created "inside" another one its child (SPEC 2.5).
 *
 * The stored value is the active node itself while a promise's work runs, or a {@link BlockEntry}
 * while a `ctx.run(block)` block runs: the entry also knows whether that block is still running,
 * which decides ContextAlreadyActiveError (see isEnteredInFlow).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { EXPLICIT_PARENT, IS_BLOCK_ENTRY, IS_PROMISE, SELF_DONE, type TreeNode } from "./tree.ts";

/** One `ctx.run(block)`: open while the block runs (for an async block: until its promise settles; see runBlock in context.ts). */
export class BlockEntry {
  readonly _flags = IS_BLOCK_ENTRY;
  open = true;
  constructor(
    readonly node: TreeNode,
    /** What was active where `run()` was called. */
    readonly outer: ActiveValue | null,
  ) {}
}

/** What the storage holds: a node whose work runs, or a block running in a node. */
export type ActiveValue = TreeNode | BlockEntry;

/** A node created where `value` was active: its outer value, kept for isEnteredInFlow. */
export interface HasOuter extends TreeNode {
  /** @internal What was active where it was created (null: nothing, or just its implicit parent). */
  _outer: ActiveValue | null;
}

// One storage per process, shared through the global registry of symbols: a program (or a pool
// worker) that loads both the ESM and the CommonJS build of the library still sees one active
// context, so nodes created by either copy nest correctly.
// Versioned: the stored value's shape is part of the contract between copies (v2: BlockEntry).
const kStorage = Symbol.for("promising-ts.active-context.v2");
const globalSlots = globalThis as { [kStorage]?: AsyncLocalStorage<ActiveValue> };
const storage = (globalSlots[kStorage] ??= new AsyncLocalStorage<ActiveValue>());

/** The node of an active value. */
export function nodeOf(value: ActiveValue | null | undefined): TreeNode | null {
  if (value === undefined || value === null) return null;
  return value._flags & IS_BLOCK_ENTRY ? (value as BlockEntry).node : (value as TreeNode);
}

/** What is active, as stored (see {@link ActiveValue}); null when nothing is. */
export function activeValue(): ActiveValue | null {
  return storage.getStore() ?? null;
}

export function activeNode(): TreeNode | null {
  return nodeOf(storage.getStore());
}

/** Runs `fn(arg)` with `value` active (passing the argument avoids a closure per call). */
export function runWithActive<A, R>(value: ActiveValue, fn: (arg: A) => R, arg: A): R {
  return storage.run(value, fn, arg);
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
 * Whether the current flow runs inside some node `isOne` accepts: the active node, or one of the
 * nodes isEnteredInFlow walks through from it (whatever their state).
 */
export function flowReaches(isOne: (node: TreeNode) => boolean): boolean {
  let current: ActiveValue | null = activeValue();
  while (current !== null) {
    const node = nodeOf(current)!;
    if (isOne(node)) return true;
    current = outerOfActive(current);
  }
  return false;
}

/** One step out along the chain isEnteredInFlow and flowReaches walk (see there). */
function outerOfActive(current: ActiveValue): ActiveValue | null {
  if (current._flags & IS_BLOCK_ENTRY) return (current as BlockEntry).outer;
  const active = current as TreeNode;
  if (active._flags & IS_PROMISE) {
    const outer = (active as HasOuter)._outer;
    return outer !== null ? outer : active._flags & EXPLICIT_PARENT ? null : active._parent;
  }
  // A context reached through parent links (a pool worker's copy of a task's ancestry).
  return active._parent;
}

/**
 * Whether `node` is entered in the current flow (SPEC 4.3: re-entering it throws
 * ContextAlreadyActiveError): a block still runs in it somewhere up the chain of what was
 * active where the current work began, or it is a promise whose work still runs. The chain goes
 * from each block to where its `run()` was called, and from each promise to where it was created
 * (its parent, unless the parent was given explicitly). So a block that has returned, or a
 * promise that has settled, is not entered any more, also for timers and children it left behind.
 */
export function isEnteredInFlow(node: TreeNode): boolean {
  for (let current = activeValue(); current !== null; current = outerOfActive(current)) {
    if (current._flags & IS_BLOCK_ENTRY) {
      const entry = current as BlockEntry;
      if (entry.node === node && entry.open) return true;
    } else if (current === node) {
      // A context reached through parent links (a pool worker's copy of a task's ancestry, whose
      // blocks run on the main thread) counts as entered: its block may still run there.
      return !(node._flags & IS_PROMISE && node._flags & SELF_DONE);
    }
  }
  return false;
}
