/**
 * The hierarchy that PromisingContext and Promise share: parent links, configuration flags,
 * and the child registry.
 *
 * Invariant (SPEC 2.8): a child is held *strongly* by its parent while it is busy — its own
 * work is unfinished, or one of its descendants is busy — and only *weakly* afterwards.
 * So a subtree that still runs can never be garbage-collected out of the tree, and a
 * finished, unreferenced subtree never stays alive because of its parent.
 */
import type { ThreadPoolLike } from "./thread-contract.ts";

// Bits of `TreeNode._flags`. Bits 0–4 are configuration, frozen at creation; the rest is state.
export const START_SOON = 1;
export const CHILDREN_ENFORCED = 2;
export const CHILDREN_START_SOON = 4;
export const START_SOON_DEFAULT = 8;
export const IS_PROMISE = 16;
/** The node sits in its parent's busy set. */
export const IN_PARENT_BUSY = 32;
/** Its own work is finished (promise settled, or context not running a block). */
export const SELF_DONE = 64;

export interface TreeNode {
  readonly namespace: string | null;
  _parent: TreeNode | null;
  _flags: number;
  _pool: ThreadPoolLike | null;
  _children: ChildRegistry | null;
}

/**
 * Calls back after a garbage collection: the target is an object nobody references, so it
 * dies in the next collection and its finalizer runs as a task afterwards.
 */
const afterNextGc = new FinalizationRegistry<ChildRegistry>((registry) => registry.sweepAfterGc());

/** Lazily allocated: most promises never have children. */
export class ChildRegistry {
  /** Children that are busy (see the invariant above). */
  readonly busy = new Set<TreeNode>();
  /** Children that finished, held weakly; dead references are swept in amortized O(1). */
  done: WeakRef<TreeNode>[] = [];
  #sweepAt = 64;
  #armed = false;
  #fruitlessSweeps = 0;

  addDone(child: TreeNode): void {
    this.done.push(new WeakRef(child));
    if (this.done.length >= this.#sweepAt) {
      this.#sweep();
      // V8 keeps every WeakRef target alive until the current job ends, so a loop of awaits
      // that never yields finds everything alive here. Sweep again after a collection, when
      // the children nobody references are really gone, so dead references never pile up.
      this.#fruitlessSweeps = 0;
      this.#armSweepAfterGc();
    }
  }

  /** @internal Finalizer callback; re-arms a few times while collections free nothing yet. */
  sweepAfterGc(): void {
    this.#armed = false;
    const before = this.done.length;
    this.#sweep();
    this.#fruitlessSweeps = this.done.length < before ? 0 : this.#fruitlessSweeps + 1;
    if (this.#fruitlessSweeps < 8) this.#armSweepAfterGc();
  }

  #armSweepAfterGc(): void {
    if (this.#armed || this.done.length <= 64) return;
    this.#armed = true;
    afterNextGc.register({}, this);
  }

  #sweep(): void {
    this.done = this.done.filter((ref) => ref.deref() !== undefined);
    // Doubling keeps the sweep cost proportional to the pushes that triggered it.
    this.#sweepAt = Math.max(64, this.done.length * 2);
  }
}

/** Registers a new, busy child. Re-marks finished ancestors as busy again when needed. */
export function attachChild(parent: TreeNode, child: TreeNode): void {
  child._parent = parent;
  child._flags |= IN_PARENT_BUSY;
  (parent._children ??= new ChildRegistry()).busy.add(child);
  markBusyUpwards(parent);
}

/** A node that had been released (finished and quiet) got busy work again: hold it strongly once more. */
export function markBusyUpwards(start: TreeNode): void {
  let node = start;
  while (!(node._flags & IN_PARENT_BUSY) && node._parent !== null) {
    const parent = node._parent;
    node._flags |= IN_PARENT_BUSY;
    (parent._children ??= new ChildRegistry()).busy.add(node);
    node = parent;
  }
}

/** Moves nodes that are finished and quiet from their parent's busy set to its weak list, walking up. */
export function releaseIfQuiet(start: TreeNode): void {
  let node: TreeNode | null = start;
  while (node !== null && node._flags & IN_PARENT_BUSY && node._flags & SELF_DONE) {
    if (node._children !== null && node._children.busy.size > 0) return;
    node._flags &= ~IN_PARENT_BUSY;
    const parent: TreeNode = node._parent!;
    const registry = parent._children!;
    registry.busy.delete(node);
    registry.addDone(node);
    node = parent;
  }
}

export interface CollectOptions {
  recursively?: boolean;
  excludeNonAwaitable?: boolean;
  excludeDone?: boolean;
}

/**
 * Children (or descendants) still reachable. With `excludeDone` only busy subtrees need
 * walking, because a finished child in the weak list has no busy descendants.
 * Iterative, so a 100,000-deep tree does not overflow the stack.
 */
export function collectChildren(
  root: TreeNode,
  isDone: (node: TreeNode) => boolean,
  { recursively = true, excludeNonAwaitable = true, excludeDone = true }: CollectOptions = {},
): Set<TreeNode> {
  const found = new Set<TreeNode>();
  const visited = new Set<TreeNode>();
  const stack: TreeNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const registry = node._children;
    if (registry === null) continue;
    const consider = (child: TreeNode) => {
      if (visited.has(child)) return;
      visited.add(child);
      const awaitable = (child._flags & IS_PROMISE) !== 0;
      if ((awaitable || !excludeNonAwaitable) && !(excludeDone && isDone(child))) found.add(child);
      if (recursively) stack.push(child);
    };
    for (const child of registry.busy) consider(child);
    if (!excludeDone) {
      for (const ref of registry.done) {
        const child = ref.deref();
        if (child !== undefined) consider(child);
      }
    }
  }
  return found;
}
