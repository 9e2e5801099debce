/**
 * Worker side of node lifetimes: which main-thread nodes this worker still refers to, and
 * telling the main thread when it refers to one no longer.
 *
 * The main thread keeps, per worker, a table of the nodes the worker can name by id (the
 * promises it created by calling promising functions, the contexts it entered, the promises
 * it was handed as arguments or layers). Without releases that table only grows: a pool
 * function that calls `fetchPage(url).sync()` a million times would keep a million promises
 * and their results alive on the main thread.
 *
 * An id may be released once this worker holds no local node for it *and* has seen every
 * message that named it, or a message still on its way could name a forgotten id. So both
 * sides count: the main thread counts the times it sends an id (and one for a node the worker
 * created), this worker counts the times it receives one (and one for a node it created),
 * and a release carries the count it covers. The main thread forgets the id when its count
 * drops to zero and no running task needs it.
 *
 * Local nodes are held through WeakRefs; dead ones are found by a sweep whenever the table has
 * doubled since the last one (amortized O(1), no finalizer per node). Releases therefore come
 * in batches, after the worker's garbage collector has cleared the weak references (V8 does
 * that in full collections only).
 */
import type { TreeNode } from "../core/tree.ts";
import type { WorkerPost } from "./protocol.ts";

export class WorkerNodeRefs {
  readonly #nodes = new Map<number, WeakRef<TreeNode>>();
  /** Occurrences of each id received (or created here) and not yet covered by a release. */
  readonly #received = new Map<number, number>();
  /** Sweep when the table reaches this size: twice what survived the last sweep (amortized O(1)). */
  #sweepAt = 1024;

  constructor(private readonly post: (message: WorkerPost) => void) {}

  /** The live local node for `id`, if any. */
  get(id: number): TreeNode | undefined {
    return this.#nodes.get(id)?.deref();
  }

  /** Counts one occurrence of `id`: named by a message from the main thread, or created here. */
  received(id: number): void {
    this.#received.set(id, (this.#received.get(id) ?? 0) + 1);
  }

  /**
   * Counts an occurrence of `id` that creates no local node (in a task this worker skips):
   * released at once when nothing here holds the id, else with the node's release.
   */
  receivedUnused(id: number): void {
    this.received(id);
    if (this.#nodes.has(id)) return;
    this.#release([id]);
  }

  /** Records the local node standing for `id`. */
  remember(id: number, node: TreeNode): void {
    this.#nodes.set(id, new WeakRef(node));
    if (this.#nodes.size < this.#sweepAt) return;
    const dead: number[] = [];
    for (const [known, ref] of this.#nodes) if (ref.deref() === undefined) dead.push(known);
    for (const id of dead) this.#nodes.delete(id);
    this.#sweepAt = Math.max(1024, 2 * this.#nodes.size);
    if (dead.length > 0) this.#release(dead);
  }

  /** Releases an id this worker created but never held a node for (a wrapped thenable's). */
  releaseUnheld(id: number): void {
    this.#release([id]);
  }

  #release(ids: number[]): void {
    const counts = ids.map((id) => this.#received.get(id) ?? 0);
    for (const id of ids) this.#received.delete(id);
    this.post({ op: "release", ids, counts });
  }
}
