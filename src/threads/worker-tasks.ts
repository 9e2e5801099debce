/**
 * Runs one pool task inside a worker: rebuilds the task's ancestry as local stand-ins (so
 * `getActivePromise()`, traces and parents work as on the main thread), calls the function
 * with the task's promise active, and reports the outcome.
 */
import { activeNode, runWithActive } from "../core/active.ts";
import { PromisingContext } from "../core/context.ts";
import { Defaults } from "../core/defaults.ts";
import { PromisingError } from "../core/errors.ts";
import { isThenable } from "../core/options.ts";
import { PromisingPromise } from "../core/promise.ts";
import type { ThreadPoolLike } from "../core/thread-contract.ts";
import { formatTraceOf } from "../core/trace.ts";
import type { TreeNode } from "../core/tree.ts";
import { resultCloneFailure } from "./clone-failure.ts";
import { decodeThrown, encodeThrown } from "./error-transfer.ts";
import { describeRef, lookupFunction } from "./function-registry.ts";
import {
  isHandleArg,
  type Outcome,
  type SettledMessage,
  type TaskMessage,
  WORKER_FAILURE_KEY,
  type WorkerFailureInfo,
  type WorkerPost,
} from "./protocol.ts";
import { decodeArg, makeHandle, makeTaskHandle } from "./worker-bridge.ts";
import type { WorkerRuntime } from "./worker-runtime.ts";

interface Identity {
  wrapper: { original: (...args: unknown[]) => unknown } | null;
  home: object | null;
}

export function settleWatch(runtime: WorkerRuntime, message: SettledMessage): void {
  const watch = runtime.watches.get(message.id);
  if (watch === undefined) return;
  runtime.watches.delete(message.id);
  const outcome = message.outcome;
  if ("layer" in outcome) return;
  if (outcome.ok) watch.settle(true, outcome.value);
  else watch.settle(false, decodeThrown(outcome.error));
}

/**
 * An error that kills this worker (uncaught, or an unhandled rejection) leaves no promise to
 * carry it: the pool reports it on the main thread (pool.ts). Tag it with what was running,
 * read from the async context the failing callback ran in (the pool function's, for a timer or
 * promise it left behind).
 */
export function tagFatalErrors(runtime: WorkerRuntime): void {
  process.on("uncaughtExceptionMonitor", (error, origin) => {
    if (error === null || typeof error !== "object") return;
    const node = activeNode();
    let task: TreeNode | null = node;
    while (task !== null && !runtime.taskNodes.has(task)) task = task._parent;
    const info: WorkerFailureInfo = {
      origin,
      functionName: task?.namespace ?? null,
      trace: node === null ? [] : formatTraceOf(node),
    };
    try {
      Object.defineProperty(error, WORKER_FAILURE_KEY, {
        value: info,
        enumerable: true,
        configurable: true,
        writable: true,
      });
    } catch {
      // A frozen error: the main thread reports it without the name.
    }
  });
}

/** A task another thread runs: the promises among its arguments were received all the same. */
export function skipTask(runtime: WorkerRuntime, task: TaskMessage): void {
  for (const arg of task.args) if (isHandleArg(arg)) runtime.nodeRefs.receivedUnused(arg.__promisingHandle);
}

export async function runTask(
  runtime: WorkerRuntime,
  task: TaskMessage,
  importModule: (url: string) => Record<string, unknown> | Promise<Record<string, unknown>>,
): Promise<void> {
  const post = (message: WorkerPost) => runtime.client.post(message);
  let outcome: Outcome;
  /** For a returned thenable: subscribes to it, once `done` has been posted (see encodeResult). */
  let subscribe: (() => void) | null = null;
  try {
    const ref = task.ref;
    if (ref === undefined) throw new PromisingError(`Internal error: task ${task.taskId} names no function.`);
    // A loaded module comes back synchronously: no await, so the task runs inside this call.
    const loading = importModule(ref.url);
    const moduleNamespace = loading instanceof Promise ? await loading : loading;
    const identity = lookupFunction(ref) as Identity | undefined;
    const original = identity?.wrapper?.original;
    if (original === undefined) {
      throw new PromisingError(
        `The pool worker imported ${ref.url} but found no ${describeRef(ref)} there. ` +
          "Pool functions must be decorated at the top level of their module, the same way in every thread.",
      );
    }
    const node = mirrorAncestry(runtime, task);
    // An instance method learns its prototype when an instance is built; a worker builds none,
    // so look for the class among the module's exports.
    if (task.self.mode === "instance" && identity!.home === null) {
      identity!.home = findPrototypeOwning(moduleNamespace, identity!.wrapper);
    }
    const self = task.self;
    const thisArg =
      self.mode === "none"
        ? undefined
        : self.mode === "class"
          ? receiverHome(moduleNamespace, identity!.home, self.className, ref.url)
          : reattach(self.value, receiverHome(moduleNamespace, identity!.home, self.className, ref.url));
    const args = task.args.map((arg) => decodeArg(runtime, arg));
    const value = runWithActive(node, () => original.apply(thisArg, args), undefined);
    const encoded = encodeResult(runtime, value, node);
    outcome = encoded.outcome;
    subscribe = encoded.subscribe;
  } catch (error) {
    outcome = { ok: false, error: encodeThrown(error) };
  }
  const kept = endTask(runtime) ? (true as const) : undefined;
  try {
    post({ op: "done", taskId: task.taskId, outcome, kept });
  } catch (error) {
    post({
      op: "done",
      taskId: task.taskId,
      kept,
      outcome: {
        ok: false,
        error: encodeThrown(
          resultCloneFailure("ok" in outcome && outcome.ok ? outcome.value : undefined, error),
        ),
      },
    });
  }
  subscribe?.();
}

/** Local stand-ins for the task's ancestors, root first; the last one is the task's promise. */
function mirrorAncestry(runtime: WorkerRuntime, task: TaskMessage): TreeNode {
  let parent: TreeNode | null = null;
  runtime.mirroring = true;
  const last = task.ancestors.length - 1;
  try {
    for (let index = 0; index < last; index++) {
      const info = task.ancestors[index]!;
      if (info.isPromise) {
        // Not counted: the main thread holds a task's ancestors for as long as the task runs.
        parent = makeHandle(runtime, info.id, info.namespace, parent, false);
      } else {
        const context: PromisingContext = new PromisingContext({
          namespace: info.namespace,
          parent: parent as never,
        });
        runtime.ids.set(context, info.id);
        parent = context;
      }
    }
  } finally {
    runtime.mirroring = false;
  }
  const own = task.ancestors[last]!;
  runtime.taskNodeId = own.id;
  runtime.taskTouched = false;
  runtime.taskNode = makeTaskHandle(runtime, own.id, own.namespace, parent);
  runtime.taskNodes.add(runtime.taskNode);
  const pool = poolInThisWorker(runtime);
  if (pool !== undefined && runtime.taskNode._pool !== pool) runtime.taskNode._pool = pool;
  return runtime.taskNode;
}

/** The pool found for a `PoolNameInWorkers` naming one (it stays: pools are held by their module). */
let namedPool: ThreadPoolLike | undefined;

/**
 * This worker's counterpart of the pool the main thread resolved for its tasks, which is what
 * `getThreadPoolExecutor()` reports there (the main thread runs a task on its resolved pool, or
 * on the ASYNCIO_DEFAULT pool when that is `null`); undefined when the worker cannot name it.
 */
function poolInThisWorker(runtime: WorkerRuntime): ThreadPoolLike | null | undefined {
  const name = runtime.pool;
  if (name === "default") return Defaults.PROMISING_THREAD_POOL;
  if (name === "asyncio") return null;
  if (name === null) return undefined;
  namedPool ??= lookupFunction(name) as ThreadPoolLike | undefined;
  return namedPool;
}

/**
 * After a task: its promise's stand-in is kept, and the main thread told to keep its id until
 * this worker releases it, only if the task used the bridge (made calls, entered contexts,
 * blocked): only then can a later message name that promise again (a call it made may pass it
 * on), and identity must hold. Most tasks (pure functions) save a weak reference and a release.
 */
function endTask(runtime: WorkerRuntime): boolean {
  const node = runtime.taskNode;
  runtime.taskNode = null;
  if (node === null || !runtime.taskTouched) return false;
  // Counted like a message naming it: the main thread keeps the id until this worker releases it.
  runtime.nodeRefs.received(runtime.taskNodeId);
  runtime.nodeRefs.remember(runtime.taskNodeId, node);
  return true;
}

function findPrototypeOwning(moduleNamespace: Record<string, unknown>, method: unknown): object | null {
  for (const exported of Object.values(moduleNamespace)) {
    if (typeof exported !== "function" || exported.prototype === undefined) continue;
    for (
      let proto = exported.prototype as object | null;
      proto !== null;
      proto = Object.getPrototypeOf(proto)
    ) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        if (Object.getOwnPropertyDescriptor(proto, key)?.value === method) return proto;
      }
    }
  }
  return null;
}

/**
 * Where the receiver's methods come from in this thread: the declaring class (static) or its
 * prototype (instance), or, when the caller's receiver was a subclass (`className`), that
 * subclass as this module exports it. A subclass the worker cannot find is an error: running
 * the declaring class's code instead would silently ignore the subclass's overrides.
 */
function receiverHome(
  moduleNamespace: Record<string, unknown>,
  home: object | null,
  className: string | undefined,
  url: string,
): object | null {
  if (className === undefined || home === null) return home;
  const isStatic = typeof home === "function";
  for (const exported of Object.values(moduleNamespace)) {
    if (typeof exported !== "function" || exported.name !== className) continue;
    const candidate = isStatic ? exported : (exported.prototype as object | undefined);
    if (
      candidate !== undefined &&
      (candidate === home || Object.prototype.isPrototypeOf.call(home, candidate))
    )
      return candidate;
  }
  const declaring = isStatic ? (home as { name: string }).name : (home.constructor as { name: string }).name;
  throw new PromisingError(
    `The method was called on ${isStatic ? "the class" : "an instance of"} ${className}, a subclass of ${declaring}, ` +
      `which the pool worker cannot find among the exports of ${url}. Export ${className} from that module ` +
      "(the worker imports the module that defines the method), so that the method runs on it with its overrides.",
  );
}

function reattach(value: unknown, home: object | null): unknown {
  if (home !== null && typeof home !== "function" && value !== null && typeof value === "object") {
    Object.setPrototypeOf(value, home);
  }
  return value;
}

/**
 * The first layer of a result: a handle of a main-thread promise, a wrapped thenable, or a value.
 * A wrapped thenable comes with `subscribe`, which the caller runs once it has posted the task's
 * `done`: a thenable may settle inside its own `then()`, and its outcome (and the release of its
 * id) must reach the main thread after the `done` that names it as the task's layer.
 */
function encodeResult(
  runtime: WorkerRuntime,
  value: unknown,
  node: TreeNode,
): { outcome: Outcome; subscribe: (() => void) | null } {
  if (value instanceof PromisingPromise) {
    const id = runtime.ids.get(value);
    if (id !== undefined) return { outcome: { layer: id }, subscribe: null };
  }
  if (!isThenable(value)) return { outcome: { ok: true, value }, subscribe: null };
  const id = runtime.nextId++;
  runtime.client.post({ op: "wrap", id, parentId: runtime.ids.get(node) ?? runtime.taskNodeId });
  runtime.nodeRefs.received(id);
  // Its continuation may run after the task and call promising functions with the task's
  // promise as their parent: the main thread must keep that id (see endTask).
  runtime.taskTouched = true;
  let reported = false;
  // Once only: a thenable may call both of its callbacks, or one of them twice.
  const report = (outcome: Outcome) => {
    if (reported) return;
    reported = true;
    try {
      runtime.client.post({ op: "resolve", id, outcome });
    } catch (error) {
      runtime.client.post({ op: "resolve", id, outcome: { ok: false, error: encodeThrown(error) } });
    }
    // Nothing here refers to the wrapped promise: it is the task's layer on the main thread.
    runtime.nodeRefs.releaseUnheld(id);
  };
  const subscribe = () => {
    try {
      value.then(
        (result) => report({ ok: true, value: result }),
        (error: unknown) => report({ ok: false, error: encodeThrown(error) }),
      );
    } catch (error) {
      // A throwing `then` rejects the wrapped promise, as it does on the main thread.
      report({ ok: false, error: encodeThrown(error) });
    }
  };
  return { outcome: { layer: id }, subscribe };
}
