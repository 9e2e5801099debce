/**
 * PromisingContext: a node of the hierarchy that is not itself awaitable. It scopes
 * configuration for what is created inside it and groups children for awaiting and
 * inspection. Its hierarchy methods are shared with promising.Promise (see `ContextMethods`).
 */

// Type-only, as in defaults.ts: the public type of a pool is the concrete ThreadPool the thread bridge creates.
import type { ThreadPool } from "../threads/pool.ts";
import { activeNode, activeValue, BlockEntry, isEnteredInFlow, runWithActive } from "./active.ts";
import { resolveFlags, resolvePool } from "./config.ts";
import {
  ContextAlreadyActiveError,
  ContextNotActiveError,
  ContextNotFoundError,
  PromiseNotFoundError,
  SyncUsageError,
} from "./errors.ts";
import {
  CONTEXT_KEYS,
  type ContextOptions,
  type ErrorFactory,
  HIERARCHY_KEYS,
  setParentRecognizer,
  typeError,
  validateCallOptions,
  validateOptions,
} from "./options.ts";
import { getThreadBridge, type ThreadPoolLike } from "./thread-contract.ts";
import { formatTraceOf, printTraceOf, type TraceOptions, traceOf } from "./trace.ts";
import {
  ChildRegistry,
  type CollectOptions,
  collectChildren,
  EXPLICIT_PARENT,
  IS_PROMISE,
  markBusyUpwards,
  releaseIfQuiet,
  SELF_DONE,
  type TreeNode,
} from "./tree.ts";

const NativePromise = globalThis.Promise;

/** Brand shared by PromisingContext and promising.Promise instances (see `Symbol.hasInstance`). */
export const kNode: unique symbol = Symbol.for("promising-ts.node");

export interface RaiseOptions {
  /** When `false`, return `null` instead of throwing. Default `true`. */
  raiseIfNone?: boolean;
}

export interface AwaitChildrenOptions {
  /** Every descendant (default) or only direct children. */
  recursively?: boolean;
}

export interface AwaitChildrenSyncOptions extends AwaitChildrenOptions {
  /** Give up after this many milliseconds with `TimeoutError`; the children keep running. `null`/`Infinity`: no limit. */
  timeoutMs?: number | null;
}

/** What a promise must offer so that `awaitChildren` can wait for it without observing its failure. */
interface SettleAwaitable extends TreeNode {
  _settled(): Promise<void>;
}

/** The hierarchy behaviour PromisingContext and promising.Promise share. */
export interface ContextMethods {
  readonly namespace: string | null;
  run<R>(block: (context: this) => R): R;
  getParentContext(options?: RaiseOptions & { raiseIfNone?: true }): PromisingContext;
  getParentContext(options: RaiseOptions): PromisingContext | null;
  getParentPromise(
    options?: RaiseOptions & { raiseIfNone?: true },
  ): import("./promise.ts").PromisingPromise<unknown>;
  getParentPromise(options: RaiseOptions): import("./promise.ts").PromisingPromise<unknown> | null;
  awaitChildren(options?: AwaitChildrenOptions): Promise<void>;
  awaitChildrenSync(options?: AwaitChildrenSyncOptions): void;
  collectRemainingChildren(options?: CollectOptions): Set<PromisingContext>;
  getThreadPoolExecutor(): ThreadPool | null;
  getTrace(options?: TraceOptions): PromisingContext[];
  formatTrace(options?: TraceOptions): string[];
  printTrace(options?: TraceOptions): void;
}

/**
 * A promise is done once settled. A context is done once no block runs in it and nothing
 * below it is busy: it is a grouping, so it counts as running while anything inside does.
 */
const isDone = (node: TreeNode) =>
  (node._flags & SELF_DONE) !== 0 &&
  ((node._flags & IS_PROMISE) !== 0 || node._children === null || node._children.busyCount === 0);

export class PromisingContext implements ContextMethods, TreeNode {
  declare readonly namespace: string | null;
  /** @internal */ declare _parent: TreeNode | null;
  /** @internal */ declare _flags: number;
  /** @internal */ declare _pool: ThreadPoolLike | null;
  /** @internal */ declare _children: ChildRegistry | null;
  /** @internal */ declare _prevBusy: TreeNode | null;
  /** @internal */ declare _nextBusy: TreeNode | null;

  /** True for PromisingContext instances and for promising.Promise instances (a Promise is a context too). */
  static [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: subclasses must keep the ordinary instanceof.
    if (this !== PromisingContext) return Function.prototype[Symbol.hasInstance].call(this, value);
    return value !== null && typeof value === "object" && (value as { [kNode]?: boolean })[kNode] === true;
  }

  constructor(options: ContextOptions = {}, makeError: ErrorFactory = typeError) {
    validateOptions(options, CONTEXT_KEYS, "PromisingContext", makeError);
    const parent = (options.parent === undefined ? activeNode() : options.parent) as TreeNode | null;
    (this as { namespace: string | null }).namespace =
      (options.namespace as string | null | undefined) ?? null;
    this._parent = parent;
    this._flags =
      resolveFlags(parent, options, false) | SELF_DONE | (options.parent === undefined ? 0 : EXPLICIT_PARENT);
    this._pool = resolvePool(parent, options.threadPool);
    this._children = null;
    this._prevBusy = null;
    this._nextBusy = null;
    // Not running yet, so not busy: the parent holds it weakly until a block runs inside it.
    if (parent !== null) (parent._children ??= new ChildRegistry()).addDone(this);
    getThreadBridge().onContextCreated?.(this, options as Record<string, unknown>);
  }

  /**
   * Runs `block` with this context active and returns what the block returns (a value for a
   * sync block; for an async one, a promise settling as the block's does). Works on a
   * promising.Promise too (a Promise is a context), like `with promise:` in Python.
   */
  run<R>(block: (context: this) => R): R {
    return runBlock(this, block, isAsyncFunction(block));
  }

  toString(): string {
    return `PromisingContext(${this.namespace ?? "<anonymous>"})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ---- shared hierarchy behaviour (also installed on promising.Promise) ----

  getParentContext(options?: RaiseOptions & { raiseIfNone?: true }): PromisingContext;
  getParentContext(options: RaiseOptions): PromisingContext | null;
  getParentContext(options?: RaiseOptions): PromisingContext | null {
    validateCallOptions(options, HIERARCHY_KEYS.raise, "getParentContext");
    const raiseIfNone = options?.raiseIfNone ?? true;
    const parent = this._parent;
    if (parent === null && raiseIfNone) {
      throw new ContextNotFoundError(
        `${this} has no parent context (it is a root). Pass { raiseIfNone: false } to get null.`,
      );
    }
    return parent as PromisingContext | null;
  }

  getParentPromise(
    options?: RaiseOptions & { raiseIfNone?: true },
  ): import("./promise.ts").PromisingPromise<unknown>;
  getParentPromise(options: RaiseOptions): import("./promise.ts").PromisingPromise<unknown> | null;
  getParentPromise(options?: RaiseOptions): import("./promise.ts").PromisingPromise<unknown> | null {
    validateCallOptions(options, HIERARCHY_KEYS.raise, "getParentPromise");
    const raiseIfNone = options?.raiseIfNone ?? true;
    const found = nearestPromise(this._parent);
    if (found === null && raiseIfNone) {
      throw new PromiseNotFoundError(
        `${this} has no ancestor that is a Promise. Pass { raiseIfNone: false } to get null.`,
      );
    }
    return found;
  }

  /**
   * Waits until no awaitable child (or descendant) is still running, looping because children
   * may start more children meanwhile. Deferred children are started. Never throws a child's
   * error: await the child itself to handle it.
   */
  async awaitChildren(options?: AwaitChildrenOptions): Promise<void> {
    validateCallOptions(options, HIERARCHY_KEYS.awaitChildren, "awaitChildren");
    const recursively = options?.recursively !== false;
    for (;;) {
      const remaining = collectChildren(this, isDone, {
        recursively,
        excludeNonAwaitable: true,
        excludeDone: true,
      });
      if (remaining.size === 0) return;
      const waits: Promise<void>[] = [];
      for (const child of remaining) waits.push((child as SettleAwaitable)._settled());
      await NativePromise.all(waits);
    }
  }

  awaitChildrenSync(options: AwaitChildrenSyncOptions = {}): void {
    validateCallOptions(options, HIERARCHY_KEYS.awaitChildrenSync, "awaitChildrenSync");
    assertMayBlock("awaitChildrenSync()", "`await promising.awaitChildren()`");
    getThreadBridge().awaitChildrenSync(this, options.recursively !== false, options.timeoutMs);
  }

  collectRemainingChildren(options?: CollectOptions): Set<PromisingContext> {
    validateCallOptions(options, HIERARCHY_KEYS.collect, "collectRemainingChildren");
    // In a pool worker, descendants may live on the main thread, and the stand-ins of those that
    // do may have settled there meanwhile (this thread's event loop does not turn while a pool
    // function runs): the bridge asks the main thread.
    const collectRemaining = getThreadBridge().collectRemaining;
    if (collectRemaining !== undefined)
      return collectRemaining(this, options, isDone) as Set<PromisingContext>;
    return collectChildren(this, isDone, options) as Set<PromisingContext>;
  }

  /** The resolved pool for `useThreadPool: true` functions created here; `null` means ASYNCIO_DEFAULT. */
  getThreadPoolExecutor(): ThreadPool | null {
    return this._pool as ThreadPool | null;
  }

  getTrace(options?: TraceOptions): PromisingContext[] {
    validateCallOptions(options, HIERARCHY_KEYS.trace, "getTrace");
    return traceOf(this, options) as PromisingContext[];
  }

  formatTrace(options?: TraceOptions): string[] {
    validateCallOptions(options, HIERARCHY_KEYS.trace, "formatTrace");
    return formatTraceOf(this, options);
  }

  printTrace(options?: TraceOptions): void {
    validateCallOptions(options, HIERARCHY_KEYS.trace, "printTrace");
    printTraceOf(this, options);
  }
}

Object.defineProperty(PromisingContext.prototype, kNode, { value: true });

/** How many `run()` blocks execute in each plain context right now (contexts are few; promises never count). */
const activeRuns = new WeakMap<TreeNode, number>();

function enterRun(context: TreeNode): void {
  activeRuns.set(context, (activeRuns.get(context) ?? 0) + 1);
  context._flags &= ~SELF_DONE;
  markBusyUpwards(context);
}

function exitRun(context: TreeNode): void {
  const runs = activeRuns.get(context);
  if (runs === undefined) throw new ContextNotActiveError(`${context} was exited but is not active.`);
  if (runs > 1) {
    activeRuns.set(context, runs - 1);
    return;
  }
  activeRuns.delete(context);
  context._flags |= SELF_DONE;
  releaseIfQuiet(context);
}

const nativeThen = NativePromise.prototype.then;

/**
 * Whether a block is async: an async function, by default. The api layer (api/context.ts) widens
 * this to the plain functions that stand for one (a `promising.context` wrapper of an async
 * function), which the core cannot recognise itself.
 */
let isAsyncFunction = (fn: unknown): boolean =>
  Object.prototype.toString.call(fn) === "[object AsyncFunction]";

/** @internal See isAsyncFunction. */
export function setAsyncBlockRecognizer(recognize: (fn: unknown) => boolean): void {
  isAsyncFunction = recognize;
}

/**
 * @internal `context.run(block)`. `blockIsAsync`: the block is an async function, or a plain
 * function standing for one (a `promising.context` wrapper of an async function).
 *
 * A sync block is over once it returns, whatever it returns: its entry closes, so timers and
 * children it left behind may enter the context again (SPEC 4.3). An async block goes on until
 * its promise settles, which is watched through a promise derived from it and returned in its
 * place: nobody else can hold an async function's own promise, and the derived one settles as it
 * does, so an ignored failure still reaches `unhandledRejection` (watching the block's own promise
 * and returning it would mark its rejection as handled and hide that failure from Node).
 */
export function runBlock<C extends TreeNode, R>(
  context: C,
  block: (context: C) => R,
  blockIsAsync: boolean,
): R {
  if (typeof block !== "function") {
    throw new TypeError(`run() expects a function, got ${typeof block}.`);
  }
  if (isEnteredInFlow(context)) {
    throw new ContextAlreadyActiveError(
      `${context} is already active in this flow. Create a fresh context with promising.context(...) instead of re-entering it.`,
    );
  }
  const entry = new BlockEntry(context, activeValue());
  // A promise's busy state follows its own work; only plain contexts count their blocks.
  const counted = !(context._flags & IS_PROMISE);
  if (counted) enterRun(context);
  let result: R;
  try {
    result = runWithActive(entry, block, context);
  } catch (error) {
    exitBlock(context, entry, counted);
    throw error;
  }
  if (blockIsAsync && result instanceof NativePromise && !(result as { [kNode]?: boolean })[kNode]) {
    const over = () => exitBlock(context, entry, counted);
    return nativeThen.call(
      result,
      (value: unknown) => {
        over();
        return value;
      },
      (error: unknown) => {
        over();
        throw error;
      },
    ) as R;
  }
  entry.open = false;
  if (counted) exitRunWhenSettled(context, result);
  return result;
}

function exitBlock(context: TreeNode, entry: BlockEntry, counted: boolean): void {
  entry.open = false;
  if (counted) exitRun(context);
}

/**
 * A sync block that returned a promising Promise counts as running (its context busy, for
 * awaitChildren and collecting) until that promise settles: it can be watched without being
 * observed. Any other result (a foreign promise included) ends the run now; children created
 * later make the context busy again (tree.ts).
 */
function exitRunWhenSettled(context: TreeNode, result: unknown): void {
  try {
    const waitable = result as Partial<{ [kNode]: boolean; _whenDone(callback: () => void): void }>;
    if (typeof waitable === "object" && waitable !== null && waitable[kNode] === true && waitable._whenDone) {
      waitable._whenDone(() => exitRun(context));
      return;
    }
  } catch {
    // A hostile result (a Proxy whose traps throw) is no promise of ours: the block is over.
  }
  exitRun(context);
}

function nearestPromise(start: TreeNode | null): import("./promise.ts").PromisingPromise<unknown> | null {
  let node = start;
  while (node !== null && !(node._flags & IS_PROMISE)) node = node._parent;
  return node as import("./promise.ts").PromisingPromise<unknown> | null;
}

/** Names of the shared methods that promising.Promise borrows from PromisingContext. */
export const SHARED_METHOD_NAMES = [
  "run",
  "getParentContext",
  "getParentPromise",
  "awaitChildren",
  "awaitChildrenSync",
  "collectRemainingChildren",
  "getThreadPoolExecutor",
  "getTrace",
  "formatTrace",
  "printTrace",
] as const satisfies readonly (keyof ContextMethods | "run")[];

setParentRecognizer((value) => value instanceof PromisingContext);

/**
 * @internal Throws SyncUsageError on a thread where blocking would deadlock: the one that runs
 * the event loop (SPEC 3). Checked before anything else a blocking call does, so that the
 * main thread always gets this error, also where no context is active.
 */
export function assertMayBlock(what: string, instead = "`await`"): void {
  if (!getThreadBridge().isBlockingAllowed()) {
    throw new SyncUsageError(
      `${what} would block the thread that runs the event loop, which deadlocks. ` +
        `Use ${instead} here; ${what} is for sync functions running with useThreadPool: true.`,
    );
  }
}
