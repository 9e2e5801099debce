/**
 * promising.Promise: a native Promise subclass that runs its work at most once, caches the
 * outcome, knows its parent, and starts eagerly or on first consumption.
 *
 * How the native side is used: the object *is* a native promise, but its native state is
 * only settled once somebody consumes it. Every consumer — `await`, `.then`, `Promise.all`,
 * `Promise.resolve`, `.catch`, `.finally` — either calls `then`, which we override, or reads
 * `constructor`, which we answer with an accessor (see below); both link the native side
 * first. Until then the outcome
 * lives in `_state`/`_result`. This gives three things at once: lazy start on first
 * consumption, knowing whether a failure was observed, and never tripping Node's
 * `unhandledRejection` for a child that a parent awaits later (SPEC 2.9).
 */

import type { PromiseBackedConcurrentFuture } from "../threads/concurrent-future.ts";
import { type ActiveValue, activeValue, enterActive, nodeOf, runWithActive } from "./active.ts";
import { type RawConfig, resolveFlags, resolvePool } from "./config.ts";
import {
  assertMayBlock,
  type ContextMethods,
  kNode,
  PromisingContext,
  SHARED_METHOD_NAMES,
} from "./context.ts";
import { PromiseNotDoneError } from "./errors.ts";
import {
  isPlainOptionsObject,
  isThenable,
  PROMISE_KEYS,
  type PromiseOptions,
  typeError,
  validateOptions,
} from "./options.ts";
import { type Job, runNowOrSchedule, scheduleJob, scheduleJobInCallerContext } from "./scheduler.ts";
import { getThreadBridge, type ThreadPoolLike } from "./thread-contract.ts";
import { stampTrace } from "./trace.ts";
import {
  attachChild,
  attachDeferredChild,
  type ChildRegistry,
  EXPLICIT_PARENT,
  markBusyUpwards,
  releaseIfQuiet,
  SELF_DONE,
  START_SOON,
  type TreeNode,
} from "./tree.ts";
import { markObserved, trackUnobserved } from "./unobserved.ts";

const NativePromise = globalThis.Promise;

/** One level of a promise's result: its value, or the promise it resolved to. */
export type Layer<T> = { value: T } | { promise: PromisingPromise<T> };

/** Blocking waits (worker threads only). */
export interface SyncOptions {
  /** Give up after this many milliseconds with `TimeoutError`; the promise keeps running. `null`/`Infinity`: no limit. */
  timeoutMs?: number | null;
}

// Lifecycle. Numeric order matters: `>= UNPACKED_ONCE` means "the first layer is known".
const DEFERRED = 0;
const QUEUED = 1;
const RUNNING = 2;
const UNPACKED_ONCE = 3;
const FULFILLED = 4;
const REJECTED = 5;
const STATE_NAMES = ["pending", "pending", "pending", "pending", "fulfilled", "rejected"] as const;

// Promise-only state bits of `_flags` (tree.ts owns bits 0–6).
const OBSERVED = 1 << 7;
const NATIVE_LINKED = 1 << 8;
const FULL_REQUESTED = 1 << 9;
const KIND_SHIFT = 10;
const KIND_MASK = 3 << KIND_SHIFT;
// (bits 12 and 13 belong to tree.ts)
/** A failure of its running thenable was tracked as unobserved before it started (guardDeferredThenable). */
const EARLY_FAILURE_TRACKED = 1 << 14;
/**
 * Eager: once its first layer is a promising Promise, settle with that promise's outcome when it
 * has one, without starting it (FULL_REQUESTED, set by consumers, also starts it). So an eager
 * function returning a deferred promise leaves it deferred until somebody consumes (SPEC 2.4).
 */
const FOLLOWS_LAYERS = 1 << 15;
/** Registered as a waiter of its inner promise (follow() may run twice: eagerly, then for a consumer). */
const WAITS_ON_INNER = 1 << 16;
/** A pool worker's stand-in for a main-thread promise: its state may be stale (see refreshStandIn). */
const STAND_IN = 1 << 17;
/**
 * A stand-in that learned a rejection without anybody observing it (from awaitChildrenSync(), or
 * a done() poll): its first observation here must be told to the main thread, which tracks the
 * failure as unobserved until then (see ThreadBridge.observedStandIn).
 */
const REMOTE_UNOBSERVED = 1 << 18;

/** What the work is. */
export const WORK_CALLABLE = 0; // async function, thunk, or sync function on the event loop
export const WORK_SYNC_FN = 1; // sync function: a returned foreign thenable becomes a child promise
export const WORK_THENABLE = 2; // an already-running PromiseLike
export const WORK_POOL = 3; // sync function for a pool worker (the thread bridge runs it)

/** Everything a decorated function's call needs, prepared once at decoration time. */
export interface CallSpec {
  readonly fn: (...args: unknown[]) => unknown;
  readonly kind: number;
  readonly config: RawConfig;
  /** `undefined`: the active context. */
  readonly parent: TreeNode | null | undefined;
  /** Mutable: a method learns its class name after decoration (see api/decorate.ts). */
  namespace: string | null;
  /** Opaque to the core: what the thread bridge needs to call this function from another thread. */
  readonly origin: unknown;
}

type Waiter = PromisingPromise<unknown> | (() => void);

// Module slots used to hand arguments to the constructor without allocating an object per
// call (a native Promise subclass can only be created through its constructor).
const INTERNAL = Symbol("promising-ts.internal");
let slotSpec: CallSpec | null = null;
let slotThis: unknown;
let slotArgs: unknown[] | null = null;
let slotParent: TreeNode | null = null;
let slotOuter: ActiveValue | null = null;
/** For INTERNAL_WRAP: the namespace and configuration of the promise (a wrapped thenable has none of its own). */
let slotNamespace: string | null = null;
let slotConfig: RawConfig | null = null;
const noop = () => {};
let capturedResolve: (value: unknown) => void = noop;
// Only `resolve` is kept: one closure less per promise. A rejection settles the native side
// through a thenable that rejects (see settleNative).
function captureResolvers(resolve: (value: unknown) => void): void {
  capturedResolve = resolve;
}

// The hierarchy methods are copied from PromisingContext's prototype below; this merge types them.
// biome-ignore lint/correctness/noUnusedVariables: the parameter must match the class's.
export interface PromisingPromise<T> extends ContextMethods, Job {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: implemented by the prototype copy below.
export class PromisingPromise<T> extends NativePromise<T> {
  /** Derived promises (`.then`, `.catch`, `.finally`) are plain native promises. */
  static override get [Symbol.species](): PromiseConstructor {
    return NativePromise;
  }

  declare readonly namespace: string | null;
  /** @internal */ declare _parent: TreeNode | null;
  /** @internal */ declare _flags: number;
  /** @internal */ declare _pool: ThreadPoolLike | null;
  /** @internal */ declare _children: ChildRegistry | null;
  /** @internal */ declare _prevBusy: TreeNode | null;
  /** @internal */ declare _nextBusy: TreeNode | null;
  /** @internal */ declare _state: number;
  /** @internal Final value, error, or (in UNPACKED_ONCE) the inner promise. */
  declare _result: unknown;
  /** @internal The promise this one resolved to, once known (for `unpackOnce`). */
  declare _inner: PromisingPromise<unknown> | null;
  /** @internal */ declare _work: unknown;
  /** @internal */ declare _workThis: unknown;
  /** @internal */ declare _workArgs: unknown[] | null;
  /** @internal Notified when the promise settles. */
  declare _waiters: Waiter[] | null;
  /** @internal Notified when the first layer is known. */
  declare _layerWaiters: (() => void)[] | null;
  /** @internal */ declare _resolveNative: ((value: unknown) => void) | null;
  /**
   * @internal What was active where it was created, when that is not simply its parent (a block
   * running in its parent, or anything for an explicit parent); null otherwise. See
   * isEnteredInFlow in active.ts.
   */
  declare _outer: ActiveValue | null;

  /**
   * @param work a thunk `() => value | PromiseLike` (called once, inside this promise's
   *   context, when the promise starts), or an already-running PromiseLike.
   * @param options see PromiseOptions; `{ prefilledResult }` / `{ prefilledError }` create a
   *   settled promise (pass them as the only argument).
   */
  constructor(work: (() => T | PromiseLike<T>) | PromiseLike<T>, options?: PromiseOptions);
  constructor(
    options: PromiseOptions &
      ({ prefilledResult: T; prefilledError?: never } | { prefilledError: unknown; prefilledResult?: never }),
  );
  constructor(work: unknown, options?: unknown) {
    super(captureResolvers as never);
    // Every field is created here, in one order, in the constructor body: V8 sizes instances
    // from the constructor's own assignments, so the fields stay in-object (no out-of-object
    // property store to grow) and all promises share one hidden class.
    (this as { namespace: string | null }).namespace = null;
    this._parent = null;
    this._flags = 0;
    this._pool = null;
    this._children = null;
    this._prevBusy = null;
    this._nextBusy = null;
    this._state = DEFERRED;
    this._result = undefined;
    this._inner = null;
    this._work = null;
    this._workThis = undefined;
    this._workArgs = null;
    this._waiters = null;
    this._layerWaiters = null;
    this._resolveNative = capturedResolve;
    this._outer = work === INTERNAL ? slotOuter : null;
    // The slots must not outlive the call: they would keep the last promise alive.
    capturedResolve = noop;
    if (work === INTERNAL) {
      initFromCall(this, slotSpec!, slotParent, slotThis, slotArgs!);
      slotSpec = slotParent = slotArgs = slotOuter = null;
      slotThis = undefined;
      return;
    }
    if (work === INTERNAL_WRAP) {
      initFromThenable(this, slotThis as PromiseLike<unknown>, slotParent, slotNamespace, slotConfig);
      slotParent = slotNamespace = slotConfig = null;
      slotThis = undefined;
      return;
    }
    initFromPublic(this, work, options);
  }

  // ---- consumption ----

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (!(this._flags & NATIVE_LINKED)) linkNative(this);
    return super.then(onFulfilled, onRejected);
  }

  /** Resolves one level: `{ value }`, or `{ promise }` when the result is another promising Promise. */
  unpackOnce(): Promise<Layer<T>> {
    observe(this);
    if (this._state >= UNPACKED_ONCE) return settledLayer(this);
    ensureStarted(this);
    return new NativePromise<Layer<T>>((resolve, reject) => {
      (this._layerWaiters ??= []).push(() => {
        if (this._inner === null && this._state === REJECTED) reject(this._result);
        else resolve(layerOf(this));
      });
    });
  }

  /** Blocks a worker thread until the promise is settled and fully unpacked. */
  sync(options?: SyncOptions): T {
    assertMayBlock("sync()");
    return getThreadBridge().blockOn(this, "full", options?.timeoutMs) as T;
  }

  /** Blocks a worker thread for one level: the value, or the promising Promise it resolved to. */
  unpackOnceSync(options?: SyncOptions): T | PromisingPromise<T> {
    assertMayBlock("unpackOnceSync()");
    return getThreadBridge().blockOn(this, "once", options?.timeoutMs) as T | PromisingPromise<T>;
  }

  /**
   * A view that a worker thread you started can block on (`result({ timeoutMs })`,
   * `exception()`, `done()`); hand it over in `workerData` with `transferList: future.transferList`.
   */
  asConcurrentFuture(): PromiseBackedConcurrentFuture<T> {
    return getThreadBridge().concurrentFuture(this) as PromiseBackedConcurrentFuture<T>;
  }

  /** Whether the promise has settled, with every nested layer unpacked. */
  done(): boolean {
    if (this._state < FULFILLED && this._flags & STAND_IN) getThreadBridge().refreshStandIn?.(this, false);
    return this._state >= FULFILLED;
  }

  /** The final value; throws the error if rejected, `PromiseNotDoneError` if not settled yet. */
  result(): T {
    if (this._state < FULFILLED && this._flags & STAND_IN) getThreadBridge().refreshStandIn?.(this, true);
    if (this._state === FULFILLED) return this._result as T;
    if (this._state === REJECTED) {
      observe(this);
      throw this._result;
    }
    throw new PromiseNotDoneError(`${this} has not settled yet; await it instead of calling result().`);
  }

  /** The rejection reason; `undefined` when fulfilled; throws `PromiseNotDoneError` if not settled yet. */
  error(): unknown {
    if (this._state < FULFILLED && this._flags & STAND_IN) getThreadBridge().refreshStandIn?.(this, true);
    if (this._state === FULFILLED) return undefined;
    if (this._state === REJECTED) {
      observe(this);
      return this._result;
    }
    throw new PromiseNotDoneError(`${this} has not settled yet; await it instead of calling error().`);
  }

  override toString(): string {
    return `Promise(${this.namespace ?? "<anonymous>"}, ${STATE_NAMES[this._state]})`;
  }

  // ---- internal protocol (used by the scheduler, contexts and awaitChildren) ----

  /** @internal Scheduler entry: start the work. */
  runJob(ownScope?: boolean): void {
    if (this._state === QUEUED) start(this, ownScope === true);
  }

  /** @internal Resolves (never rejects) once settled; starts and fully unpacks the promise. Does not observe. */
  _settled(): Promise<void> {
    return new NativePromise<void>((resolve) => this._whenSettled(() => resolve()));
  }

  /** @internal Starts and fully unpacks the promise; calls `callback` once settled. Does not observe. */
  _whenSettled(callback: () => void): void {
    requestFull(this);
    this._whenDone(callback);
  }

  /** @internal Calls `callback` once settled, without starting or observing. */
  _whenDone(callback: () => void): void {
    if (this._state >= FULFILLED) callback();
    else addWaiter(this, callback);
  }
}

const INTERNAL_WRAP = Symbol("promising-ts.wrap");

for (const name of SHARED_METHOD_NAMES) {
  Object.defineProperty(
    PromisingPromise.prototype,
    name,
    Object.getOwnPropertyDescriptor(PromisingContext.prototype, name)!,
  );
}
Object.defineProperty(PromisingPromise.prototype, kNode, { value: true });

// `await p`, `Promise.all`, `Promise.resolve(p)` and `p.then`'s species lookup read
// `p.constructor`. Answering the native Promise there lets them use `p` itself instead of
// wrapping it in a new promise (for `await`: without calling `then` at all), which saves two
// promises, a microtask and four closures per consumer. It is safe because the read links the
// native side first, exactly as `then` does: from then on `p` settles as a native promise.
// The prototype itself (no state) keeps answering the class, for reflection.
Object.defineProperty(PromisingPromise.prototype, "constructor", {
  get(this: PromisingPromise<unknown>) {
    if (this._flags === undefined) return PromisingPromise;
    // util.inspect reads `constructor` (twice) between reading the custom inspect hook and
    // calling it, to rule out a prototype: looking at a promise must neither start nor observe it.
    if (beingInspected === this) return PromisingPromise;
    if (!(this._flags & NATIVE_LINKED)) linkNative(this);
    return NativePromise;
  },
  configurable: true,
});

/**
 * The promise whose custom inspect hook was read by util.inspect (console.log, the REPL, test
 * runners' diffs) and not yet called. If something else reads the hook without calling it,
 * `constructor` keeps answering the class without linking until the hook is read on another
 * promise or called: a consumer then takes the slower `then` path, which links, so a stale
 * mark costs a microtask, never a hang.
 */
let beingInspected: PromisingPromise<unknown> | null = null;
function inspectPromise(this: PromisingPromise<unknown>): string {
  if (beingInspected === this) beingInspected = null;
  return this.toString();
}
Object.defineProperty(PromisingPromise.prototype, Symbol.for("nodejs.util.inspect.custom"), {
  get(this: PromisingPromise<unknown>) {
    if (this instanceof PromisingPromise) beingInspected = this;
    return inspectPromise;
  },
  configurable: true,
});

// Statics must not call our constructor with a native executor: they behave exactly like
// the native ones, except that `resolve` returns a promising Promise unchanged.
for (const name of ["all", "allSettled", "any", "race", "reject", "withResolvers", "try"] as const) {
  const native = (NativePromise as unknown as Record<string, unknown>)[name];
  if (typeof native === "function") {
    Object.defineProperty(PromisingPromise, name, {
      value: native.bind(NativePromise),
      writable: true,
      configurable: true,
    });
  }
}
// Like the native `Promise.resolve(p)` (which reads `p.constructor`, see above), handing a promise
// on this way consumes it: a deferred one starts.
Object.defineProperty(PromisingPromise, "resolve", {
  value: (value: unknown) => {
    if (!(value instanceof PromisingPromise)) return NativePromise.resolve(value);
    if (!(value._flags & NATIVE_LINKED)) linkNative(value);
    return value;
  },
  writable: true,
  configurable: true,
});

// ---- creation ----

function initNode(
  promise: PromisingPromise<unknown>,
  namespace: string | null,
  parent: TreeNode | null,
  config: RawConfig,
  kind: number,
  holdStrongly = false,
): void {
  (promise as { namespace: string | null }).namespace = namespace;
  promise._parent = parent;
  promise._flags = resolveFlags(parent, config, true) | (kind << KIND_SHIFT);
  promise._pool = resolvePool(parent, config.threadPool);
  if (parent === null) return;
  // A deferred promise is held weakly until it starts: never consumed and dropped, it is
  // collected and never runs (as in Python's WeakSet of children), and it keeps no ancestor busy.
  if (promise._flags & START_SOON || holdStrongly) attachChild(parent, promise);
  else attachDeferredChild(parent, promise);
}

function scheduleIfEager(promise: PromisingPromise<unknown>): void {
  if (promise._flags & START_SOON) {
    promise._flags |= FOLLOWS_LAYERS;
    promise._state = QUEUED;
    scheduleJobInCallerContext(promise);
  }
}

function initFromCall(
  promise: PromisingPromise<unknown>,
  spec: CallSpec,
  parent: TreeNode | null,
  thisArg: unknown,
  args: unknown[],
): void {
  initNode(promise, spec.namespace, parent, spec.config, spec.kind);
  if (spec.parent !== undefined) promise._flags |= EXPLICIT_PARENT;
  // A pool function's work is described to the thread bridge by its origin, not run here.
  promise._work = spec.kind === WORK_POOL ? spec.origin : spec.fn;
  promise._workThis = thisArg;
  promise._workArgs = args;
  scheduleIfEager(promise);
}

function initFromThenable(
  promise: PromisingPromise<unknown>,
  thenable: PromiseLike<unknown>,
  parent: TreeNode | null,
  namespace: string | null,
  config: RawConfig | null,
): void {
  // A worker's stand-in (DEFERRED_CONFIG) is deferred only here: the main-thread promise it
  // stands for runs, so its parent holds it strongly, which also spares a WeakRef per call.
  initNode(promise, namespace, parent, config ?? NO_CONFIG, WORK_THENABLE, config === DEFERRED_CONFIG);
  if (config === DEFERRED_CONFIG) promise._flags |= STAND_IN;
  promise._work = thenable;
  scheduleIfEager(promise);
  guardDeferredThenable(promise, thenable);
}

/**
 * A native promise is already running: if it rejects while the deferred promise that wraps it
 * has not started, Node would report an unhandled rejection and, by default, exit (SPEC 2.9
 * forbids that). So it gets a rejection handler at once, which leaves the failure to the library:
 * unobserved until somebody consumes the wrapper (which then rejects as usual), and reported
 * like any unobserved failure if nobody ever does. Foreign thenables are not touched: calling
 * their `then` may start work (lazy thenables), which is what deferring postpones.
 */
function guardDeferredThenable(promise: PromisingPromise<unknown>, thenable: unknown): void {
  if (
    promise._state !== DEFERRED ||
    !(thenable instanceof NativePromise) ||
    thenable instanceof PromisingPromise
  )
    return;
  nativeThenOf.call(thenable, undefined, (error: unknown) => {
    if (promise._state !== DEFERRED || promise._flags & OBSERVED) return;
    stampTrace(error, promise);
    promise._flags |= EARLY_FAILURE_TRACKED;
    trackUnobserved(promise, error);
  });
}
const nativeThenOf = NativePromise.prototype.then;

function initFromPublic(promise: PromisingPromise<unknown>, work: unknown, options: unknown): void {
  let kind = WORK_CALLABLE;
  if (options === undefined && isPlainOptionsObject(work) && !isThenable(work)) {
    options = work;
    work = undefined;
  }
  if (isNativeExecutor(work, options)) {
    // A native static (e.g. `Promise.all.call(promising.Promise, …)`) constructing us with its
    // executor: honour it by treating the promise it describes as the work.
    work = new NativePromise(work as ConstructorParameters<PromiseConstructor>[0]);
    options = undefined;
  }
  const opts = (options ?? {}) as Record<string, unknown>;
  validateOptions(opts, PROMISE_KEYS, "new promising.Promise", typeError);
  const hasResult = "prefilledResult" in opts;
  const hasError = "prefilledError" in opts;
  if (hasResult && hasError) {
    throw new TypeError("new promising.Promise: pass either prefilledResult or prefilledError, not both.");
  }
  if (work !== undefined) {
    if (hasResult || hasError) {
      throw new TypeError(
        "new promising.Promise: pass either work (a thunk or thenable) or a prefilled outcome, not both.",
      );
    }
    if (isThenable(work)) kind = WORK_THENABLE;
    else if (typeof work !== "function") {
      throw new TypeError(
        `new promising.Promise: work must be a function (a thunk such as () => fetchData()) or a thenable; got ${typeof work}.`,
      );
    } else if (work.length > 0) {
      // The work is called with no arguments; a function that declares some is almost always
      // the native executor form, whose `resolve` would be undefined when it finally runs.
      throw new TypeError(
        `new promising.Promise: work is a thunk called with no arguments, but this function declares ${work.length} parameter(s); ` +
          "the executor form (resolve, reject) => … is not supported. Pass () => new Promise((resolve, reject) => …), " +
          "or a function with no parameters.",
      );
    }
  } else if (!hasResult && !hasError) {
    throw new TypeError(
      "new promising.Promise needs work (a thunk or a thenable) or { prefilledResult } / { prefilledError }.",
    );
  }
  const active = activeValue();
  const parent = (opts.parent === undefined ? nodeOf(active) : opts.parent) as TreeNode | null;
  promise._outer = outerOf(active, parent, opts.parent !== undefined);
  initNode(
    promise,
    (opts.namespace as string | null | undefined) ?? null,
    parent,
    opts,
    kind,
    hasResult || hasError,
  );
  if (opts.parent !== undefined) promise._flags |= EXPLICIT_PARENT;
  if (hasResult) settle(promise, FULFILLED, opts.prefilledResult);
  else if (hasError) settle(promise, REJECTED, opts.prefilledError);
  else {
    promise._work = work;
    scheduleIfEager(promise);
    if (kind === WORK_THENABLE) guardDeferredThenable(promise, work);
  }
}

function isNativeExecutor(work: unknown, options: unknown): boolean {
  return (
    options === undefined &&
    typeof work === "function" &&
    work.length === 2 &&
    work.name === "" &&
    Function.prototype.toString.call(work).endsWith("{ [native code] }")
  );
}

/** @internal Creates the promise for one call of a decorated function. */
export function createCallPromise<T>(spec: CallSpec, thisArg: unknown, args: unknown[]): PromisingPromise<T> {
  const intercept = getThreadBridge().interceptCall;
  if (intercept !== null) return intercept(spec.origin, thisArg, args) as PromisingPromise<T>;
  slotSpec = spec;
  slotThis = thisArg;
  slotArgs = args;
  const active = activeValue();
  slotParent = spec.parent === undefined ? nodeOf(active) : spec.parent;
  slotOuter = outerOf(active, slotParent, spec.parent !== undefined);
  return new PromisingPromise<T>(INTERNAL as never);
}

/**
 * What a new promise keeps of the active value where it is created (its `_outer`): nothing when
 * that is its implicit parent itself (the common case: a promise created in another's work), so
 * that nothing more is retained than the parent link already holds.
 */
function outerOf(
  active: ActiveValue | null,
  parent: TreeNode | null,
  explicitParent: boolean,
): ActiveValue | null {
  return explicitParent || active !== parent ? active : null;
}

/** Wraps a foreign thenable returned by a sync function into a child promise (SPEC 2.1). */
function wrapThenable(thenable: PromiseLike<unknown>, parent: TreeNode): PromisingPromise<unknown> {
  slotThis = thenable;
  slotParent = parent;
  return new PromisingPromise<unknown>(INTERNAL_WRAP as never);
}

const NO_CONFIG: RawConfig = Object.freeze({});
const DEFERRED_CONFIG: RawConfig = Object.freeze({ startSoon: false });

/**
 * @internal A deferred promise for an already-running PromiseLike, without the public
 * constructor's option parsing: the worker side of the thread bridge makes one per promise of
 * the main thread it refers to, on the hot path of every pool task.
 */
export function createDeferredPromiseFor(
  thenable: PromiseLike<unknown>,
  parent: TreeNode | null,
  namespace: string | null,
): PromisingPromise<unknown> {
  slotThis = thenable;
  slotParent = parent;
  slotNamespace = namespace;
  slotConfig = DEFERRED_CONFIG;
  return new PromisingPromise<unknown>(INTERNAL_WRAP as never);
}

/**
 * @internal Settles a worker's stand-in for a main-thread promise with the outcome the main thread
 * just sent, so that `done()`, `result()`, `toString()` and later consumers agree with what
 * `.sync()` returned. `observed`: the outcome was observed on the way (the caller of `.sync()` got
 * it, and the main thread knows); otherwise (awaitChildrenSync(), a done() poll) a rejection's
 * first observation here is told to the main thread, which reports the failure until then.
 */
export function settleStandIn(
  promise: PromisingPromise<unknown>,
  ok: boolean,
  value: unknown,
  observed = true,
): void {
  if (promise._state >= FULFILLED) return;
  promise._work = null;
  if (observed) observe(promise);
  else if (!ok) {
    // Observed here already (adopted as a layer, say) without the main thread knowing: tell it now.
    if (promise._flags & OBSERVED) getThreadBridge().observedStandIn?.(promise);
    else promise._flags |= REMOTE_UNOBSERVED;
  }
  settle(promise, ok ? FULFILLED : REJECTED, value);
}

/** @internal Counts as observing `promise`'s outcome (a worker's blocking call answered from its cache). */
export function observeOutcome(promise: PromisingPromise<unknown>): void {
  observe(promise);
}

/** @internal The outcome of a settled promise without observing it (null while pending). */
export function peekOutcome(promise: PromisingPromise<unknown>): { ok: boolean; value: unknown } | null {
  if (promise._state < FULFILLED) return null;
  return { ok: promise._state === FULFILLED, value: promise._result };
}

// ---- running ----

function ensureStarted(promise: PromisingPromise<unknown>): void {
  if (promise._state === DEFERRED) {
    promise._state = QUEUED;
    // From now on it runs: its parent holds it strongly (see initNode).
    if (promise._parent !== null) markBusyUpwards(promise);
    scheduleJobInCallerContext(promise);
  }
}

function requestFull(promise: PromisingPromise<unknown>): void {
  if (promise._flags & FULL_REQUESTED) return;
  promise._flags |= FULL_REQUESTED;
  if (promise._state === DEFERRED) ensureStarted(promise);
  else if (promise._state === UNPACKED_ONCE) follow(promise);
}

function invokeWork(promise: PromisingPromise<unknown>): unknown {
  const work = promise._work as (...args: unknown[]) => unknown;
  const args = promise._workArgs;
  return args === null ? work() : work.apply(promise._workThis, args);
}

function start(promise: PromisingPromise<unknown>, ownScope: boolean): void {
  promise._state = RUNNING;
  const kind = (promise._flags & KIND_MASK) >> KIND_SHIFT;
  let outcome: unknown;
  try {
    if (kind === WORK_THENABLE) outcome = promise._work;
    else if (kind === WORK_POOL)
      outcome = getThreadBridge().runOnPool(promise, promise._work, promise._workThis, promise._workArgs!);
    else if (ownScope) {
      enterActive(promise);
      outcome = invokeWork(promise);
    } else outcome = runWithActive(promise, invokeWork, promise);
  } catch (error) {
    settle(promise, REJECTED, error);
    return;
  } finally {
    promise._work = null;
    promise._workThis = undefined;
    promise._workArgs = null;
  }
  accept(promise, outcome, kind === WORK_SYNC_FN);
}

/** Takes what the work produced: a promising Promise becomes the layer; foreign thenables are awaited or wrapped. */
function accept(promise: PromisingPromise<unknown>, outcome: unknown, wrapForeign: boolean): void {
  if (outcome instanceof PromisingPromise) {
    adoptLayer(promise, outcome);
    return;
  }
  let thenable: boolean;
  try {
    thenable = isThenable(outcome);
  } catch (error) {
    // A `then` getter that throws: the value cannot be awaited, so the promise fails with that
    // error, as a native promise resolved with it would.
    settle(promise, REJECTED, error);
    return;
  }
  if (!thenable) settle(promise, FULFILLED, outcome);
  else if (wrapForeign) adoptLayer(promise, wrapThenable(outcome as PromiseLike<unknown>, promise));
  else awaitForeign(promise, outcome as PromiseLike<unknown>);
}

function awaitForeign(promise: PromisingPromise<unknown>, outcome: PromiseLike<unknown>): void {
  try {
    outcome.then(
      (value) => accept(promise, value, false),
      (error: unknown) => settle(promise, REJECTED, error),
    );
  } catch (error) {
    settle(promise, REJECTED, error);
  }
}

function adoptLayer(promise: PromisingPromise<unknown>, inner: PromisingPromise<unknown>): void {
  if (promise._state !== RUNNING) return;
  if (inner === promise) {
    settle(promise, REJECTED, new TypeError(`${promise} resolved to itself.`));
    return;
  }
  promise._state = UNPACKED_ONCE;
  promise._result = inner;
  promise._inner = inner;
  notifyLayerWaiters(promise);
  // follow() itself decides whether the inner promise is started (FULL_REQUESTED) or only followed.
  if (promise._flags & (FULL_REQUESTED | FOLLOWS_LAYERS)) follow(promise);
}

/**
 * Full unpacking: wait for the inner promise and take its outcome; started only when a consumer
 * asked for the full value (FULL_REQUESTED), otherwise followed as it goes (FOLLOWS_LAYERS).
 * Adopting it counts as observing it.
 */
function follow(promise: PromisingPromise<unknown>): void {
  const inner = promise._result as PromisingPromise<unknown>;
  observe(inner);
  if (promise._flags & FULL_REQUESTED) requestFull(inner);
  else followLayers(inner);
  if (promise._flags & WAITS_ON_INNER) return;
  promise._flags |= WAITS_ON_INNER;
  addWaiter(inner, promise);
}

/** An eager outer promise follows `inner`: so does `inner` through its own layers, without starting anything. */
function followLayers(inner: PromisingPromise<unknown>): void {
  if (inner._flags & (FOLLOWS_LAYERS | FULL_REQUESTED)) return;
  inner._flags |= FOLLOWS_LAYERS;
  if (inner._state === UNPACKED_ONCE) follow(inner);
}

function settle(promise: PromisingPromise<unknown>, state: number, value: unknown): void {
  if (promise._state >= FULFILLED) return;
  promise._state = state;
  promise._result = value;
  if (state === REJECTED) stampTrace(value, promise);
  promise._flags |= SELF_DONE;
  if (promise._flags & NATIVE_LINKED) settleNative(promise);
  // A stand-in's failure that the main thread tracks is not tracked here too (settleStandIn).
  else if (state === REJECTED && !(promise._flags & (OBSERVED | REMOTE_UNOBSERVED)))
    trackUnobserved(promise, value);
  if (promise._layerWaiters !== null) notifyLayerWaiters(promise);
  const waiters = promise._waiters;
  promise._waiters = null;
  if (promise._parent !== null) releaseIfQuiet(promise);
  // Waiters hear of it now when nothing else is queued: a settlement from a native reaction
  // (an async function finished) then costs no extra microtask.
  if (waiters !== null) runNowOrSchedule(new Notification(promise, waiters));
}

function settleNative(promise: PromisingPromise<unknown>): void {
  const resolve = promise._resolveNative!;
  promise._resolveNative = null;
  if (promise._state === FULFILLED) {
    resolve(promise._result);
    return;
  }
  resolve(new RejectingThenable(promise._result));
  // The native side was linked because something consumed the promise: `await`, `.then`,
  // Promise.all, which attach handlers of their own, or a bare `p.constructor` read (a library's
  // plain-object check, a test runner's equality), which does not. The failure counts as observed
  // either way (linkNative), so it is handled here too: a bare read must not turn it into Node's
  // `unhandledRejection`, which would end the process (SPEC 2.9). Only on this rare path.
  nativeThenOf.call(promise, undefined, ignoreRejection);
}

const ignoreRejection = (): void => {};

/** Resolving a native promise with this rejects it with `reason` (no rejected promise is created on the way). */
class RejectingThenable {
  constructor(private readonly reason: unknown) {}
  then(_onFulfilled: unknown, onRejected: (reason: unknown) => void): void {
    onRejected(this.reason);
  }
}

function addWaiter(promise: PromisingPromise<unknown>, waiter: Waiter): void {
  if (promise._state >= FULFILLED) scheduleJob(new Notification(promise, [waiter]));
  else (promise._waiters ??= []).push(waiter);
}

/** Delivers a settlement to internal waiters from the scheduler, so long chains never recurse. */
class Notification implements Job {
  constructor(
    private readonly source: PromisingPromise<unknown>,
    private readonly waiters: Waiter[],
  ) {}

  runJob(): void {
    const { source } = this;
    for (const waiter of this.waiters) {
      if (waiter instanceof PromisingPromise) settle(waiter, source._state, source._result);
      else waiter();
    }
  }
}

function notifyLayerWaiters(promise: PromisingPromise<unknown>): void {
  const waiters = promise._layerWaiters;
  if (waiters === null) return;
  promise._layerWaiters = null;
  for (const waiter of waiters) waiter();
}

function linkNative(promise: PromisingPromise<unknown>): void {
  promise._flags |= NATIVE_LINKED;
  observe(promise);
  requestFull(promise);
  if (promise._state >= FULFILLED) settleNative(promise);
}

function observe(promise: PromisingPromise<unknown>): void {
  if (promise._flags & OBSERVED) return;
  promise._flags |= OBSERVED;
  if (promise._flags & REMOTE_UNOBSERVED) {
    promise._flags &= ~REMOTE_UNOBSERVED;
    getThreadBridge().observedStandIn?.(promise);
    return;
  }
  if (promise._state === REJECTED || promise._flags & EARLY_FAILURE_TRACKED) markObserved(promise);
}

function layerOf<T>(promise: PromisingPromise<T>): Layer<T> {
  const inner = promise._inner;
  return inner !== null ? { promise: inner as PromisingPromise<T> } : { value: promise._result as T };
}

function settledLayer<T>(promise: PromisingPromise<T>): Promise<Layer<T>> {
  if (promise._inner === null && promise._state === REJECTED) return NativePromise.reject(promise._result);
  return NativePromise.resolve(layerOf(promise));
}
