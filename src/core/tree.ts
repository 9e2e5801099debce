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
// Bits 7–11 belong to promise.ts.
/**
 * Its parent was given explicitly (`parent: x`), not taken from the active context: the node's
 * work did not start inside its parent's flow (see isEnteredInFlow in active.ts).
 */
export const EXPLICIT_PARENT = 1 << 12;
/**
 * A deferred child was attached here or below. Deferred children keep no ancestor busy, so a
 * walk that skips quiet subtrees (`excludeDone`) still descends into quiet children with this
 * bit, to find deferred descendants for `awaitChildren` to start. Set once, never cleared.
 */
export const DEFERRED_BELOW = 1 << 13;
/** Set only on a BlockEntry (active.ts), never on a node: tells the two apart in the active value. */
export const IS_BLOCK_ENTRY = 1 << 30;

export interface TreeNode {
  readonly namespace: string | null;
  /** @internal */ _parent: TreeNode | null;
  /** @internal */ _flags: number;
  /** @internal */ _pool: ThreadPoolLike | null;
  /** @internal */ _children: ChildRegistry | null;
  /** @internal Links of the parent's list of busy children (intrusive: no allocation per child). */
  _prevBusy: TreeNode | null;
  /** @internal */ _nextBusy: TreeNode | null;
}

/**
 * How many finished children a parent remembers (weakly) for `collectRemainingChildren({
 * excludeDone: false })`. A WeakRef is not free on V8: it costs about 2 µs and keeps its target
 * alive until the current job ends, which would double the cost of a 100,000-child fan-out and
 * pin every finished child of a long await loop in memory. Inspection needs far fewer, so a
 * parent remembers up to this many; children that finish while the list is full of live ones
 * are not listed once finished (running children are always listed). See docs/decisions.md.
 */
export const FINISHED_CHILDREN_REMEMBERED = 1000;

/** Lazily allocated: most promises never have children. */
export class ChildRegistry {
  /** Head of the list of busy children (see the invariant above), linked through the children. */
  busyHead: TreeNode | null = null;
  busyCount = 0;
  /** Finished children, held weakly, at most FINISHED_CHILDREN_REMEMBERED. */
  done: WeakRef<TreeNode>[] = [];
  /**
   * Deferred children not started yet, held weakly (SPEC 2.8: a child that does not run is not
   * kept alive by its parent), without a cap: `awaitChildren` must find every one to start it.
   * Entries of children that have started since are dropped when the list has doubled.
   */
  deferred: WeakRef<TreeNode>[] | null = null;
  #deferredPruneAt = 64;
  /** Finished children not remembered since the list was last full. */
  #overflow = 0;

  addBusy(child: TreeNode): void {
    child._prevBusy = null;
    child._nextBusy = this.busyHead;
    if (this.busyHead !== null) this.busyHead._prevBusy = child;
    this.busyHead = child;
    this.busyCount++;
  }

  removeBusy(child: TreeNode): void {
    if (child._prevBusy !== null) child._prevBusy._nextBusy = child._nextBusy;
    else this.busyHead = child._nextBusy;
    if (child._nextBusy !== null) child._nextBusy._prevBusy = child._prevBusy;
    child._prevBusy = child._nextBusy = null;
    this.busyCount--;
  }

  addDeferred(child: TreeNode): void {
    const deferred = (this.deferred ??= []);
    deferred.push(new WeakRef(child));
    if (deferred.length < this.#deferredPruneAt) return;
    this.deferred = deferred.filter((ref) => isStillDeferred(ref.deref()));
    this.#deferredPruneAt = Math.max(64, 2 * this.deferred.length);
  }

  addDone(child: TreeNode): void {
    if (this.done.length >= FINISHED_CHILDREN_REMEMBERED) {
      // Full: make room by dropping dead references, but only once per list-length of
      // completions, so a full list of live children costs O(1) per completion.
      if (++this.#overflow % FINISHED_CHILDREN_REMEMBERED !== 0) return;
      this.done = this.done.filter((ref) => ref.deref() !== undefined);
      if (this.done.length >= FINISHED_CHILDREN_REMEMBERED) return;
    }
    this.done.push(new WeakRef(child));
  }
}

/** Alive, and neither started (it would be in the busy list) nor finished. */
function isStillDeferred(node: TreeNode | undefined): node is TreeNode {
  return node !== undefined && !(node._flags & (IN_PARENT_BUSY | SELF_DONE));
}

/** Registers a new deferred child, held weakly until it starts (then: markBusyUpwards). */
export function attachDeferredChild(parent: TreeNode, child: TreeNode): void {
  child._parent = parent;
  (parent._children ??= new ChildRegistry()).addDeferred(child);
  for (
    let node: TreeNode | null = parent;
    node !== null && !(node._flags & DEFERRED_BELOW);
    node = node._parent
  ) {
    node._flags |= DEFERRED_BELOW;
  }
}

/** Registers a new, busy child. Re-marks finished ancestors as busy again when needed. */
export function attachChild(parent: TreeNode, child: TreeNode): void {
  child._parent = parent;
  child._flags |= IN_PARENT_BUSY;
  (parent._children ??= new ChildRegistry()).addBusy(child);
  markBusyUpwards(parent);
}

/** A node that had been released (finished and quiet) got busy work again: hold it strongly once more. */
export function markBusyUpwards(start: TreeNode): void {
  let node = start;
  while (!(node._flags & IN_PARENT_BUSY) && node._parent !== null) {
    const parent = node._parent;
    node._flags |= IN_PARENT_BUSY;
    (parent._children ??= new ChildRegistry()).addBusy(node);
    node = parent;
  }
}

/** Moves nodes that are finished and quiet from their parent's busy set to its weak list, walking up. */
export function releaseIfQuiet(start: TreeNode): void {
  let node: TreeNode | null = start;
  while (node !== null && node._flags & IN_PARENT_BUSY && node._flags & SELF_DONE) {
    if (node._children !== null && node._children.busyCount > 0) return;
    node._flags &= ~IN_PARENT_BUSY;
    const parent: TreeNode = node._parent!;
    const registry = parent._children!;
    registry.removeBusy(node);
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
    for (let child = registry.busyHead; child !== null; child = child._nextBusy) consider(child);
    if (registry.deferred !== null) {
      for (const ref of registry.deferred) {
        const child = ref.deref();
        // A deferred child that started since is in the busy list (or, finished, in `done`).
        if (isStillDeferred(child)) consider(child);
      }
    }
    if (!excludeDone) {
      for (const ref of registry.done) {
        const child = ref.deref();
        if (child !== undefined) consider(child);
      }
    } else if (recursively && node._flags & DEFERRED_BELOW) {
      // Quiet children are done themselves, but may hold deferred descendants.
      for (const ref of registry.done) {
        const child = ref.deref();
        if (child !== undefined && child._flags & DEFERRED_BELOW && !visited.has(child)) {
          visited.add(child);
          stack.push(child);
        }
      }
    }
  }
  return found;
}
