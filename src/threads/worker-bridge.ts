/**
 * The thread bridge inside a pool worker: calls of promising functions become children in the
 * main thread's tree (posted, not waited for), and `.sync()` / `awaitChildrenSync()` block
 * this worker on its channel until the main thread answers.
 */

import type { CallOrigin } from "../api/function.ts";
import { activeNode } from "../core/active.ts";
import { PromisingContext } from "../core/context.ts";
import { peekDefaultPool } from "../core/defaults.ts";
import { PromisingError, SyncUsageError, TimeoutError } from "../core/errors.ts";
import {
  createDeferredPromiseFor,
  observeOutcome,
  PromisingPromise,
  peekOutcome,
  settleStandIn,
} from "../core/promise.ts";
import { PROMISING_DEFAULT, type Sentinel } from "../core/sentinels.ts";
import type { ThreadBridge } from "../core/thread-contract.ts";
import { collectChildren, type TreeNode } from "../core/tree.ts";
import { cloneFailure } from "./clone-failure.ts";
import { PromiseBackedConcurrentFuture } from "./concurrent-future.ts";
import { decodeThrown } from "./error-transfer.ts";
import { type FunctionRef, registerFunction } from "./function-registry.ts";
import { encodeOptions } from "./option-transfer.ts";
import { createLibraryPool, ThreadPool } from "./pool.ts";
import {
  type ChildOutcomes,
  type CollectAnswer,
  type CollectedNode,
  type HandleArg,
  isHandleArg,
  type LayerAnswer,
  type Outcome,
  ROOT_ID,
  type RunWait,
  type ThisTransfer,
  type WorkerPost,
  type WorkerRequest,
} from "./protocol.ts";
import { SyncChannelCloneError, SyncChannelTimeoutError } from "./sync-channel.ts";
import { checkTimeoutMs } from "./timeouts.ts";
import { OutcomeThenable } from "./worker-host.ts";
import type { WorkerRuntime } from "./worker-runtime.ts";

export function createWorkerBridge(runtime: WorkerRuntime): ThreadBridge {
  const post = (message: WorkerPost) => runtime.client.post(message);
  // This worker's own default pool stands for the main thread's (it is what getThreadPoolExecutor()
  // reports for a task on the default pool), so it crosses as PROMISING_DEFAULT.
  const poolRef = (pool: object) =>
    pool instanceof ThreadPool ? (pool.ref ?? (pool === peekDefaultPool() ? PROMISING_DEFAULT : null)) : null;
  const request = (message: WorkerRequest, timeoutMs: number | undefined, what: string, node: TreeNode) => {
    try {
      return runtime.client.request(message, timeoutMs);
    } catch (error) {
      // Only the channel's own timeout: a TimeoutError the awaited promise rejected with is its outcome.
      if (error instanceof SyncChannelTimeoutError) {
        throw new TimeoutError(
          `${what} timed out after ${timeoutMs} ms; the promise keeps running. Wait longer, or await it instead.`,
          { cause: error },
        );
      }
      if (error instanceof SyncChannelCloneError) {
        // The channel's message names the clone failure in parentheses; keep only that part.
        const reason = /structured-cloned \((.*)\)\.?$/s.exec(error.message)?.[1] ?? error.message;
        const promise = node.namespace === null ? "the promise" : `the promise of ${node.namespace}`;
        // Same class (a PromisingError), message for the user: what could not be sent, and what to do.
        throw new SyncChannelCloneError(
          `${what}: the value of ${promise} cannot be sent to this worker thread: it cannot be structured-cloned (${reason}). ` +
            "Values reach a pool worker by structured clone: resolve the promise to plain data (no functions, " +
            "sockets, or class instances whose state lives in private fields), or await it on the main thread instead.",
          { cause: error },
        );
      }
      throw error;
    }
  };

  /** The id of the main-thread node `node` stands for, or of its nearest ancestor that has one. */
  const remoteIdOf = (node: TreeNode | null): number => {
    for (let current = node; current !== null; current = current._parent) {
      const id = runtime.ids.get(current);
      if (id !== undefined) return id;
    }
    return runtime.taskNodeId;
  };

  const remoteIdOrThrow = (node: TreeNode, what: string): number => {
    const id = runtime.ids.get(node);
    if (id === undefined) {
      throw new SyncUsageError(
        `${what} on ${node} would block this worker thread on work that this same thread's event loop must run, ` +
          "which deadlocks. Only promises created by calling promising functions (which run in the main thread's " +
          "tree), and promises of this thread that have already settled, can be waited for synchronously here.",
      );
    }
    return id;
  };

  /** `.sync()` / `.unpackOnceSync()` (and a concurrent future's waits): `what` names the call. */
  const blockOn = (
    node: TreeNode,
    mode: "full" | "once",
    timeoutMs: number | undefined,
    what: string,
  ): unknown => {
    runtime.taskTouched = true;
    // A promise of this thread: blocking deadlocks only while it is pending.
    if (!runtime.ids.has(node)) {
      const local = node as PromisingPromise<unknown>;
      // One level known: unpackOnceSync() returns it; sync() blocks on the inner promise.
      const inner = local._inner;
      if (local.done()) return mode === "once" && inner !== null ? inner : local.result();
      if (inner !== null) return mode === "once" ? inner : blockOn(inner, "full", timeoutMs, what);
    }
    const id = remoteIdOrThrow(node, what);
    // A value crosses once per thread: later calls return the same object (SPEC 4.9).
    const cached = outcomes.get(node);
    if (cached !== undefined && (mode === "full" || cached.layerIsValue)) {
      // Learned without being observed (awaitChildrenSync(), a poll): observed now.
      if (!cached.ok) observeOutcome(node as PromisingPromise<unknown>);
      return unwrap(cached);
    }
    let answer: unknown;
    try {
      answer = request({ op: "sync", id, mode }, timeoutMs, what, node);
    } catch (error) {
      if (!(error instanceof TimeoutError && error.cause instanceof SyncChannelTimeoutError)) {
        outcomes.set(node, { ok: false, value: error, layerIsValue: true });
        settleStandIn(node as PromisingPromise<unknown>, false, error);
      }
      throw error;
    }
    if (mode === "full") {
      outcomes.set(node, { ok: true, value: answer, layerIsValue: false });
      settleStandIn(node as PromisingPromise<unknown>, true, answer);
      return answer;
    }
    const layer = answer as LayerAnswer;
    if ("value" in layer) {
      // One level is the final value here, so it is also what sync() returns: keep one object.
      if (cached !== undefined) return unwrap(cached);
      outcomes.set(node, { ok: true, value: layer.value, layerIsValue: true });
      settleStandIn(node as PromisingPromise<unknown>, true, layer.value);
      return layer.value;
    }
    return makeHandle(runtime, layer.handle, layer.namespace, knownNode(runtime, layer.parentId), true);
  };

  /** Posts a call (or, with `run`, a `run()`) to the main thread; returns its local handle. */
  const postCall = (
    origin: CallOrigin,
    thisArg: unknown,
    args: unknown[],
    run: RunWait | undefined,
  ): PromisingPromise<unknown> => {
    runtime.taskTouched = true;
    const { identity, options, namespace, original } = origin;
    const ref = identity.ref as FunctionRef | null;
    if (ref === null) {
      throw new PromisingError(
        `${original.name || "This function"} cannot be called inside a pool worker: the module that defines it ` +
          "could not be located, so the main thread cannot run it. Define it at the top level of a module.",
      );
    }
    const active = activeNode();
    // An explicit parent wins, as on the main thread; `null` makes a root there, as run() does.
    const parent =
      run !== undefined ? null : options.parent === undefined ? active : (options.parent as TreeNode | null);
    const id = runtime.nextId++;
    const name = runtime.refIds.name(ref);
    const crossing = encodedOptions(options, poolRef);
    const self = encodeThis(thisArg, identity);
    try {
      const call: Extract<WorkerPost, { op: "call" }> & { run?: RunWait } = {
        op: "call",
        id,
        refId: name.id,
        ref: name.full,
        options: crossing,
        self: self.mode === "none" ? undefined : self,
        args: args.map((arg) => encodeArg(runtime, arg)),
        parentId: parent === null ? ROOT_ID : remoteIdOf(parent),
        contextId: remoteIdOf(active),
      };
      if (run !== undefined) call.run = run;
      post(call);
    } catch (error) {
      // The main thread never learned the short id from this call: the next one names it in full.
      if (name.full !== undefined) runtime.refIds.forget(ref);
      throw cloneFailure(original.name, self.mode === "instance", args, error, "the main thread");
    }
    return makeHandle(runtime, id, namespace, parent, true);
  };

  const bridge: ThreadBridge = {
    isThreadPool: (value: unknown): value is ThreadPool => value instanceof ThreadPool,
    createDefaultPool: () => createLibraryPool({ maxThreads: 1 }),
    isBlockingAllowed: () => true,
    blockOn(node, mode, timeoutOption) {
      const what = mode === "full" ? "sync()" : "unpackOnceSync()";
      // Checked first, so that a bad value fails the same way whether or not the promise has settled.
      return blockOn(node, mode, checkTimeoutMs(timeoutOption, what), what);
    },
    awaitChildrenSync(node, recursively, timeoutOption) {
      runtime.taskTouched = true;
      const timeoutMs = checkTimeoutMs(timeoutOption, "awaitChildrenSync()");
      // The children finish on the main thread; their stand-ins here learn their outcomes from
      // the answer, so that done(), result() and collectRemainingChildren() agree afterwards.
      const standIns: PromisingPromise<unknown>[] = [];
      const outcomesOf: number[] = [];
      for (const child of collectChildren(
        node,
        // Local state only: the answer brings the children's outcomes (no peek per child).
        (candidate) => peekOutcome(candidate as PromisingPromise<unknown>) !== null,
        {
          recursively,
        },
      )) {
        const childId = runtime.ids.get(child);
        if (childId === undefined || !(child instanceof PromisingPromise)) continue;
        standIns.push(child);
        outcomesOf.push(childId);
      }
      const answer = request(
        { op: "awaitChildren", id: remoteIdOrThrow(node, "awaitChildrenSync()"), recursively, outcomesOf },
        timeoutMs,
        "awaitChildrenSync()",
        node,
      ) as ChildOutcomes;
      for (let index = 0; index < standIns.length; index++) settleFromAnswer(standIns[index]!, answer[index]);
    },
    refreshStandIn(node, observe) {
      const id = runtime.ids.get(node);
      if (id === undefined || outcomes.has(node)) return;
      let answer: { ok: true; value: unknown } | { ok: false; error: unknown } | null;
      try {
        answer = request({ op: "peek", id, observe }, undefined, "done()", node) as typeof answer;
      } catch {
        // done() never throws: with the channel closed (the pool shutting down), local state stands.
        return;
      }
      if (answer === null) return;
      const value = answer.ok ? answer.value : decodeThrown(answer.error as never);
      outcomes.set(node, { ok: answer.ok, value, layerIsValue: false });
      // Observed on the main thread already when `observe` (result(), error()); else told when it is here.
      settleStandIn(node as PromisingPromise<unknown>, answer.ok, value, observe);
    },
    collectRemaining(root, options, isDone) {
      const recursively = options?.recursively ?? true;
      const excludeNonAwaitable = options?.excludeNonAwaitable ?? true;
      const excludeDone = options?.excludeDone ?? true;
      const rootId = runtime.ids.get(root);
      // The nodes whose descendants the main thread lists: the root if it stands for a node
      // there; else (a promise of this worker) the topmost such nodes below it, when recursive.
      const queried: TreeNode[] =
        rootId !== undefined ? [root] : recursively ? topmostRemote(runtime, root, isDone) : [];
      const local = collectChildren(root, isDone, options);
      // This worker's stand-ins among them that it still sees pending: the answer brings outcomes.
      const standIns: PromisingPromise<unknown>[] = [];
      const outcomesOf: number[] = [];
      for (const node of local) {
        const id = runtime.ids.get(node);
        if (id === undefined || !(node instanceof PromisingPromise) || peekOutcome(node) !== null) continue;
        standIns.push(node);
        outcomesOf.push(id);
      }
      if (queried.length === 0) {
        if (!excludeDone) return local;
        // Direct children of a promise of this worker: only their own states may be stale.
        for (const standIn of standIns) bridge.refreshStandIn!(standIn, false);
        return collectChildren(root, isDone, options);
      }
      runtime.taskTouched = true;
      let answer: CollectAnswer;
      try {
        answer = request(
          {
            op: "collect",
            ids: queried.map((node) => runtime.ids.get(node)!),
            recursively,
            excludeNonAwaitable,
            excludeDone,
            outcomesOf,
          },
          undefined,
          "collectRemainingChildren()",
          root,
        ) as CollectAnswer;
      } catch {
        // The channel is closed (the pool shutting down): what this thread knows stands.
        return local;
      }
      for (let index = 0; index < standIns.length; index++)
        settleFromAnswer(standIns[index]!, answer.outcomes[index]);
      const found = new Set<TreeNode>();
      for (const entry of answer.nodes) {
        const node = localNodeFor(runtime, entry, root);
        // Direct children here: not those made inside a promise of this worker, whose parent
        // there is the nearest node the main thread knows.
        if (!recursively && node._parent !== null && node._parent !== root && !runtime.ids.has(node._parent))
          continue;
        found.add(node);
      }
      // And what this thread sees, now that its stand-ins have caught up: its own promises, a
      // context running a block here, a stand-in whose value cannot cross (pending here for good).
      for (const node of local) if (!(excludeDone && isDone(node))) found.add(node);
      return found;
    },
    observedStandIn(node) {
      const id = runtime.ids.get(node);
      if (id !== undefined) post({ op: "observe", id });
    },
    runOnPool() {
      return Promise.reject(
        new PromisingError("Inside a pool worker, pool functions run through the main thread."),
      );
    },
    // A worker may block on a promise of the main thread's tree (as sync() does), and on one of
    // its own once settled; a pending one of its own would deadlock (SyncUsageError).
    concurrentFuture: (promise) =>
      PromiseBackedConcurrentFuture._forPromise(promise as PromisingPromise<unknown>, (what, timeoutMs) => {
        try {
          return { ok: true, value: blockOn(promise, "full", timeoutMs, what) };
        } catch (error) {
          // The wait's own failures are thrown; what the promise rejected with is its outcome.
          if (error instanceof TimeoutError && error.cause instanceof SyncChannelTimeoutError) throw error;
          if (error instanceof SyncUsageError && !(promise as PromisingPromise<unknown>).done()) throw error;
          return { ok: false, error };
        }
      }),
    isPoolWorker: () => true,
    registerFunction,
    interceptCall: (origin, thisArg, args) => postCall(origin as CallOrigin, thisArg, args, undefined),
    runAsRoot(origin, thisArg, args, awaitChildren) {
      const run: RunWait =
        awaitChildren === false ? "none" : awaitChildren === true ? "direct" : "recursively";
      let handle: PromisingPromise<unknown>;
      try {
        handle = postCall(origin as CallOrigin, thisArg, args, run);
      } catch (error) {
        return Promise.reject(error);
      }
      // A native promise, as run() returns on the main thread; consuming the handle watches it.
      return handle.then((value) => value);
    },
    onContextCreated(node, options) {
      runtime.taskTouched = true;
      if (runtime.mirroring) return;
      const id = runtime.nextId++;
      runtime.ids.set(node, id);
      const crossing = encodeOptions(options, poolRef) as Record<string, never>;
      const parentId = node._parent === null ? ROOT_ID : remoteIdOf(node._parent);
      post({ op: "context", id, parentId, options: crossing });
      runtime.nodeRefs.received(id);
      runtime.nodeRefs.remember(id, node);
    },
  };
  return bridge;
}

/**
 * Settles a pending stand-in with an outcome the main thread sent along (awaitChildrenSync(),
 * collectRemainingChildren()); neither observes a failure (the main thread still tracks it).
 */
function settleFromAnswer(standIn: PromisingPromise<unknown>, outcome: Outcome | null | undefined): void {
  if (outcome === null || outcome === undefined || "layer" in outcome || outcomes.has(standIn)) return;
  const value = outcome.ok ? outcome.value : decodeThrown(outcome.error);
  outcomes.set(standIn, { ok: outcome.ok, value, layerIsValue: false });
  settleStandIn(standIn, outcome.ok, value, false);
}

/**
 * The topmost nodes below `root` (a promise of this worker) that stand for nodes of the main
 * thread, finished ones included: the main thread lists their descendants.
 */
function topmostRemote(
  runtime: WorkerRuntime,
  root: TreeNode,
  isDone: (node: TreeNode) => boolean,
): TreeNode[] {
  const below = collectChildren(root, isDone, {
    recursively: true,
    excludeNonAwaitable: false,
    excludeDone: false,
  });
  const topmost: TreeNode[] = [];
  for (const node of below) {
    if (!runtime.ids.has(node)) continue;
    let parent = node._parent;
    while (parent !== null && parent !== root && !runtime.ids.has(parent)) parent = parent._parent;
    if (parent === root) topmost.push(node);
  }
  return topmost;
}

/**
 * This worker's node for one the main thread listed below `root` (an occurrence of its id): the
 * stand-in or context it already has, else a new one, under its parent when this worker has that
 * (a node it keeps, a mirrored ancestor of the running task, or `root` or one of its ancestors,
 * which may be mirrored ancestors of a task that has ended).
 */
function localNodeFor(runtime: WorkerRuntime, entry: CollectedNode, root: TreeNode): TreeNode {
  const parent =
    knownNode(runtime, entry.parentId) ??
    (entry.parentId === undefined ? null : ancestorWithId(runtime, root, entry.parentId));
  if (entry.isPromise) return makeHandle(runtime, entry.id, entry.namespace, parent, true);
  runtime.nodeRefs.received(entry.id);
  let node: TreeNode | null = knownNode(runtime, entry.id);
  if (node === null) {
    runtime.mirroring = true;
    try {
      node = new PromisingContext({ namespace: entry.namespace, parent: parent as never });
    } finally {
      runtime.mirroring = false;
    }
    runtime.ids.set(node, entry.id);
  }
  runtime.nodeRefs.remember(entry.id, node);
  return node;
}

/**
 * `from` or its nearest ancestor that stands for main-thread node `id`; from the running task's
 * promise, one of its mirrored ancestors (mirrored contexts are not in nodeRefs).
 */
function ancestorWithId(runtime: WorkerRuntime, from: TreeNode | null, id: number): TreeNode | null {
  for (let node = from; node !== null; node = node._parent) {
    if (runtime.ids.get(node) === id) return node;
  }
  return null;
}

/** Encoded call options per options object: a function's options are fixed, so encode them once. */
const encodedOptionsCache = new WeakMap<object, Record<string, never> | undefined>();
function encodedOptions(
  options: Readonly<Record<string, unknown>>,
  poolRef: (pool: object) => FunctionRef | Sentinel | null,
): Record<string, never> | undefined {
  if (encodedOptionsCache.has(options)) return encodedOptionsCache.get(options);
  const encoded = encodeOptions(options, poolRef) as Record<string, never>;
  const result = Object.keys(encoded).length === 0 ? undefined : encoded;
  encodedOptionsCache.set(options, result);
  return result;
}

interface CachedOutcome {
  readonly ok: boolean;
  readonly value: unknown;
  /** True when the first layer is known to be the final value (so unpackOnceSync may use it). */
  readonly layerIsValue: boolean;
}

/** What `.sync()` got for each handle in this thread. */
const outcomes = new WeakMap<TreeNode, CachedOutcome>();

function unwrap(outcome: CachedOutcome): unknown {
  if (outcome.ok) return outcome.value;
  throw outcome.value;
}

/** The work of a handle: settles when the main thread reports the promise's outcome ("watch"). */
class RemoteOutcome implements PromiseLike<unknown> {
  constructor(
    private readonly runtime: WorkerRuntime,
    private readonly id: number,
  ) {}

  then<R1, R2>(
    onFulfilled?: ((value: unknown) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    const { runtime, id } = this;
    let watch = runtime.watches.get(id);
    if (watch === undefined) {
      watch = new OutcomeThenable();
      runtime.watches.set(id, watch);
      runtime.client.post({ op: "watch", id } satisfies WorkerPost);
    }
    return watch.then(onFulfilled, onRejected);
  }
}

/**
 * The local promise standing for main-thread promise `id` (one per id in this thread, so
 * identity holds here too): blocking on it asks the main thread.
 * @param occurrence whether a message named `id` (or this thread created it), which the
 *   release of the id must cover (see worker-node-refs.ts).
 */
export function makeHandle(
  runtime: WorkerRuntime,
  id: number,
  namespace: string | null,
  parent: TreeNode | null,
  occurrence: boolean,
): PromisingPromise<unknown> {
  if (occurrence) runtime.nodeRefs.received(id);
  if (id === runtime.taskNodeId && runtime.taskNode !== null) {
    if (occurrence) runtime.taskTouched = true;
    return runtime.taskNode as PromisingPromise<unknown>;
  }
  const known = runtime.nodeRefs.get(id);
  if (known instanceof PromisingPromise) return known;
  const handle = newStandIn(runtime, id, namespace, parent);
  runtime.nodeRefs.remember(id, handle);
  return handle;
}

/** The stand-in of the running task's own promise; remembered only if the task keeps it (see endTask in worker-tasks.ts). */
export function makeTaskHandle(
  runtime: WorkerRuntime,
  id: number,
  namespace: string | null,
  parent: TreeNode | null,
): PromisingPromise<unknown> {
  const known = runtime.nodeRefs.get(id);
  return known instanceof PromisingPromise ? known : newStandIn(runtime, id, namespace, parent);
}

function newStandIn(
  runtime: WorkerRuntime,
  id: number,
  namespace: string | null,
  parent: TreeNode | null,
): PromisingPromise<unknown> {
  const handle = createDeferredPromiseFor(new RemoteOutcome(runtime, id), parent, namespace);
  runtime.ids.set(handle, id);
  return handle;
}

const NO_THIS: ThisTransfer = Object.freeze({ mode: "none" });

/**
 * How `this` crosses for a call of the function `identity` names. Only methods (decorated as
 * such) take their receiver along; a plain function called as a property (`ns.compute()`,
 * `exports.greet()`, `{ ...ns }.compute()`) ignores it, as the receiver is only how it was reached.
 */
export function encodeThis(
  thisArg: unknown,
  identity: { readonly home: object | null; readonly isMethod: boolean },
): ThisTransfer {
  if (!identity.isMethod || thisArg === undefined || thisArg === null || thisArg === globalThis)
    return NO_THIS;
  const home = identity.home;
  if (typeof thisArg === "function") {
    if (thisArg === home) return { mode: "class" };
    // A static method called through a subclass: `this` is that subclass, found by name there.
    if (typeof home === "function" && Object.prototype.isPrototypeOf.call(home, thisArg))
      return { mode: "class", className: thisArg.name };
  }
  const proto = Object.getPrototypeOf(thisArg) as { constructor?: unknown } | null;
  // An instance of a subclass: its own class decides which overrides the method calls.
  if (
    home !== null &&
    proto !== null &&
    proto !== home &&
    Object.prototype.isPrototypeOf.call(home, proto as object) &&
    typeof proto.constructor === "function"
  )
    return { mode: "instance", value: thisArg, className: proto.constructor.name };
  return { mode: "instance", value: thisArg };
}

function encodeArg(runtime: WorkerRuntime, arg: unknown): unknown {
  if (arg instanceof PromisingPromise) {
    const id = runtime.ids.get(arg);
    if (id !== undefined) return { __promisingHandle: id, namespace: arg.namespace } satisfies HandleArg;
  }
  return arg;
}

export function decodeArg(runtime: WorkerRuntime, arg: unknown): unknown {
  return isHandleArg(arg)
    ? makeHandle(runtime, arg.__promisingHandle, arg.namespace, knownNode(runtime, arg.parentId), true)
    : arg;
}

/**
 * The local node for main-thread id `id`, if this thread still has one (a stand-in's parent): one
 * it keeps, or the running task's promise or one of its mirrored ancestors.
 */
function knownNode(runtime: WorkerRuntime, id: number | undefined): TreeNode | null {
  if (id === undefined) return null;
  if (id === runtime.taskNodeId && runtime.taskNode !== null) return runtime.taskNode;
  const known = runtime.nodeRefs.get(id);
  return known === undefined ? ancestorWithId(runtime, runtime.taskNode, id) : (known as TreeNode);
}
