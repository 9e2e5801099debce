/**
 * `promising.function`: turns a function into one that returns a promising.Promise.
 * Options are validated and frozen into a CallSpec at decoration time, so a call only
 * creates the promise (core/promise.ts) and nothing else.
 */
import { DecorationError } from "../core/errors.ts";
import {
  decorationError,
  FUNCTION_KEYS,
  type FunctionOptions,
  type FunctionOverrides,
  isPlainOptionsObject,
  validateOptions,
} from "../core/options.ts";
import {
  type CallSpec,
  createCallPromise,
  type PromisingPromise,
  WORK_CALLABLE,
  WORK_POOL,
  WORK_SYNC_FN,
} from "../core/promise.ts";
import { describeValue, RECURSIVELY, UNCHANGED } from "../core/sentinels.ts";
import { getThreadBridge } from "../core/thread-contract.ts";
import type { TreeNode } from "../core/tree.ts";
import { isAsyncFunction } from "./context.ts";
import { applyDecorator, isLegacyDecoratorCall, mirrorSignature, type Wrapping } from "./decorate.ts";

type AnyFunction = (...args: any[]) => any;

/**
 * A decorated function: same parameters, returns a promising.Promise of the unpacked result.
 * `PromisingFunction<[number], string>` is a function of one number whose promise resolves to a
 * string, whatever the decorated function returned on the way (a value, a promise of one, a
 * promising Promise); `Original` is the decorated function's own type, kept for `original`.
 */
export interface PromisingFunction<
  A extends unknown[] = any[],
  T = any,
  This = unknown,
  Original extends (this: This, ...args: A) => unknown = (this: This, ...args: A) => T | PromiseLike<T>,
> {
  (this: This, ...args: A): PromisingPromise<T>;
  /** A function with the same signature whose options are overridden for its calls. */
  with(overrides: FunctionOverrides): PromisingFunction<A, T, This, Original>;
  /**
   * Entry point: calls the function as a fresh root, awaits its result and (by default) every
   * descendant, and returns the result. In a pool worker, a no-op (resolving to `undefined`)
   * outside any pool function (a module's top-level code, also after an async preamble); inside
   * one, the main thread runs it as a root.
   */
  run(...args: A): Promise<T>;
  /** The function that was decorated. */
  readonly original: Original;
}

/** Shared by a decorated function and every `.with()` / bound copy of it. */
interface FunctionIdentity {
  /** How other threads name the decoration (threads/function-registry.ts); `null` when they cannot. */
  ref: unknown;
  /** For methods: the class (static) or prototype (instance) that defines them. */
  home: object | null;
  /**
   * Decorated as a method (standard or legacy decorator): only then does `this` cross threads.
   * A plain function called as a property (`ns.fn()`, `exports.fn()`) ignores its receiver there.
   */
  readonly isMethod: boolean;
  /** The decorated function as first created (what another thread's call resolves to). */
  wrapper: PromisingFunction | null;
}

/** What a pool worker needs to call this function in the main thread's tree (see CallSpec.origin). */
export interface CallOrigin {
  readonly identity: FunctionIdentity;
  readonly options: Readonly<Record<string, unknown>>;
  readonly namespace: string | null;
  readonly original: AnyFunction;
}

interface FunctionState {
  readonly original: AnyFunction;
  readonly isAsync: boolean;
  readonly identity: FunctionIdentity;
  /** Validated options, `undefined`/`UNCHANGED` already dropped. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly spec: CallSpec;
  readonly namespaceGiven: boolean;
  readonly receiver: { value: unknown } | null;
  runSpec: CallSpec | null;
}

const kState = Symbol("promising-ts.function");

/** `instanceof PromisingFunction` holds for every decorated function (and its `.with()` / bound forms). */
export const PromisingFunction = function PromisingFunction(): never {
  throw new TypeError("PromisingFunction is not constructed directly; use promising.function(fn).");
} as unknown as {
  readonly prototype: PromisingFunction;
  [Symbol.hasInstance](value: unknown): value is PromisingFunction;
};
Object.setPrototypeOf(PromisingFunction.prototype, Function.prototype);
Object.defineProperty(PromisingFunction, Symbol.hasInstance, {
  value: (value: unknown) => typeof value === "function" && kState in value,
});

function stateOf(fn: unknown): FunctionState {
  const state = (fn as { [kState]?: FunctionState } | null)?.[kState];
  if (state === undefined)
    throw new TypeError("Expected a promising function (created by promising.function).");
  return state;
}

function functionTag(fn: Function): string {
  return Object.prototype.toString.call(fn);
}

function checkDecoratable(fn: unknown): asserts fn is AnyFunction {
  if (typeof fn !== "function") {
    throw new DecorationError(`promising.function can only decorate a function; got ${describeValue(fn)}.`);
  }
  if (kState in fn) {
    throw new DecorationError(
      "This function is already a promising function; use .with(overrides) to change its options.",
    );
  }
  if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) {
    throw new DecorationError(
      `promising.function cannot decorate a class (${fn.name}); decorate its methods instead.`,
    );
  }
  const tag = functionTag(fn);
  if (tag === "[object GeneratorFunction]" || tag === "[object AsyncGeneratorFunction]") {
    throw new DecorationError(
      `promising.function does not support generator functions (${fn.name || "anonymous"}).`,
    );
  }
}

/** Enforces the useThreadPool rules (SPEC 2.2, 4.4) on the merged options. */
function checkUseThreadPool(
  state: { original: AnyFunction; isAsync: boolean },
  options: Record<string, unknown>,
): void {
  const name = state.original.name || "anonymous function";
  if (state.isAsync) {
    if (options.useThreadPool !== undefined) {
      throw new DecorationError(
        `useThreadPool is not allowed on async functions (${name}): they always run on the event loop. Remove the option.`,
      );
    }
    return;
  }
  if (typeof options.useThreadPool !== "boolean") {
    throw new DecorationError(
      `${name} is a sync function, so useThreadPool is required: true runs it on a worker thread of the pool ` +
        "(recommended for CPU-bound work), false runs it on the event loop thread. " +
        "If it is really async (bound or transpiled), wrap it: async (...args) => fn(...args). " +
        "On a method under another decorator: that decorator replaced the async method by a plain " +
        "function; make its wrapper async, or write @promising.fn below that decorator.",
    );
  }
}

function buildSpec(
  state: Pick<FunctionState, "original" | "isAsync" | "identity">,
  options: Record<string, unknown>,
  namespace: string | null,
): CallSpec {
  const kind = state.isAsync ? WORK_CALLABLE : options.useThreadPool === true ? WORK_POOL : WORK_SYNC_FN;
  const origin: CallOrigin = { identity: state.identity, options, namespace, original: state.original };
  return {
    origin,
    fn: state.original,
    kind,
    config: {
      startSoon: options.startSoon,
      childrenStartSoon: options.childrenStartSoon,
      startSoonDefault: options.startSoonDefault,
      threadPool: options.threadPool,
    },
    parent: options.parent as TreeNode | null | undefined,
    namespace,
  };
}

function createState(
  original: AnyFunction,
  isAsync: boolean,
  identity: FunctionIdentity,
  options: Record<string, unknown>,
  receiver: FunctionState["receiver"],
  defaultNamespace: string | null,
): FunctionState {
  checkUseThreadPool({ original, isAsync }, options);
  if (options.useThreadPool === true && identity.ref === null) {
    throw new DecorationError(
      `${original.name || "This function"} cannot run on the thread pool: the module that decorated it could not be ` +
        "found (code from eval?). Decorate it at the top level of a module, or pass { module: import.meta.url } " +
        "(ESM) / { module: __filename } (CommonJS) when decorating.",
    );
  }
  const namespaceGiven = options.namespace !== undefined;
  const namespace = namespaceGiven ? (options.namespace as string | null) : defaultNamespace;
  return {
    original,
    isAsync,
    identity,
    options,
    spec: buildSpec({ original, isAsync, identity }, options, namespace),
    namespaceGiven,
    receiver,
    runSpec: null,
  };
}

function makeWrapper(state: FunctionState): PromisingFunction {
  const { spec, receiver } = state;
  const wrapper =
    receiver === null
      ? function (this: unknown, ...args: unknown[]) {
          return createCallPromise(spec, this, args);
        }
      : (...args: unknown[]) => createCallPromise(spec, receiver.value, args);
  mirrorSignature(wrapper, state.original);
  Object.defineProperty(wrapper, kState, { value: state });
  Object.setPrototypeOf(wrapper, PromisingFunction.prototype);
  return wrapper as unknown as PromisingFunction;
}

function decorate(
  fn: AnyFunction,
  options: Record<string, unknown>,
  placement: "static" | "instance" | undefined,
): PromisingFunction {
  checkDecoratable(fn);
  const isAsync = isAsyncFunction(fn);
  checkUseThreadPool({ original: fn, isAsync }, options);
  const identity: FunctionIdentity = {
    ref: null,
    home: null,
    isMethod: placement !== undefined,
    wrapper: null,
  };
  // Named here, at the decoration site, because the call stack is what locates the module.
  identity.ref = getThreadBridge().registerFunction(
    identity,
    fn.name,
    options.module as string | URL | undefined,
    options.useThreadPool === true,
    placement,
  );
  identity.wrapper = makeWrapper(createState(fn, isAsync, identity, options, null, fn.name || null));
  return identity.wrapper;
}

const functionWrapping: Wrapping = {
  apiName: "promising.function",
  wrap: (fn, options) => decorate(fn, options, undefined),
  bind(wrapper, receiver) {
    const state = stateOf(wrapper);
    return makeWrapper({ ...state, receiver: { value: receiver }, runSpec: null });
  },
  nameMethod(wrapper, namespace, home) {
    const state = stateOf(wrapper);
    if (home !== null) state.identity.home = home;
    if (!state.namespaceGiven) state.spec.namespace = namespace;
  },
};

Object.defineProperties(PromisingFunction.prototype, {
  with: {
    value: function withOverrides(this: unknown, overrides: FunctionOverrides): PromisingFunction {
      const state = stateOf(this);
      const where = `${state.original.name || "promising function"}.with`;
      // Checked before the value rules, so that `useThreadPool: null` on an async function
      // says what is wrong (the option itself), not which values it takes.
      if (state.isAsync && isPlainOptionsObject(overrides) && overrides.useThreadPool !== undefined) {
        throw new DecorationError(
          `useThreadPool is not allowed on async functions (${state.original.name || "anonymous"}), not even at call time.`,
        );
      }
      validateOptions(overrides, FUNCTION_KEYS, where, decorationError, true);
      const merged: Record<string, unknown> = { ...state.options };
      for (const [key, value] of Object.entries(overrides)) {
        if (value !== undefined && value !== UNCHANGED) merged[key] = value;
      }
      const next = createState(
        state.original,
        state.isAsync,
        state.identity,
        merged,
        state.receiver,
        state.spec.namespace,
      );
      return makeWrapper(next);
    },
    writable: true,
    configurable: true,
  },
  run: {
    value: function run(this: unknown, ...args: unknown[]): Promise<unknown> {
      const state = stateOf(this);
      const mode = state.options.awaitChildren ?? RECURSIVELY;
      // In a pool worker: a no-op at a module's top level, else run by the main thread.
      const inWorker = getThreadBridge().runAsRoot;
      if (inWorker !== null) return inWorker(state.spec.origin, state.receiver?.value, args, mode);
      state.runSpec ??= { ...state.spec, parent: null };
      return runAsRoot(state.runSpec, state.receiver?.value, args, mode);
    },
    writable: true,
    configurable: true,
  },
  original: {
    get(this: unknown) {
      return stateOf(this).original;
    },
    configurable: true,
  },
});

/**
 * @internal A call that another thread asked for: `wrapper`'s call with `overrides` (its options
 * as the calling thread had them, `.with()` overrides included) and an explicit parent, without
 * building a `.with()` wrapper. Options equal to the decoration's change nothing; `useThreadPool`
 * is checked again here, as `.with()` checks it (it decides where the function runs).
 */
export function callFromAnotherThread(
  wrapper: unknown,
  overrides: Readonly<Record<string, unknown>>,
  parent: TreeNode | null,
  thisArg: unknown,
  args: unknown[],
): unknown {
  const state = stateOf(wrapper);
  let changed = false;
  for (const key in overrides) {
    if (overrides[key] !== state.options[key]) {
      changed = true;
      break;
    }
  }
  if (!changed) return createCallPromise({ ...state.spec, parent }, thisArg, args);
  const merged: Record<string, unknown> = { ...state.options, ...overrides, parent };
  if (merged.useThreadPool !== state.options.useThreadPool) {
    checkUseThreadPool(state, merged);
    if (merged.useThreadPool === true && state.identity.ref === null) {
      throw new DecorationError(
        `${state.original.name || "This function"} cannot run on the thread pool: the module that decorated it could not be found.`,
      );
    }
  }
  const namespace =
    overrides.namespace !== undefined ? (overrides.namespace as string | null) : state.spec.namespace;
  return createCallPromise(buildSpec(state, merged, namespace), thisArg, args);
}

/**
 * @internal `run()` that another thread asked for: `wrapper`'s call as a fresh root, with
 * `overrides` as in callFromAnotherThread, awaited with its descendants per `mode`.
 */
export function runFromAnotherThread(
  wrapper: unknown,
  overrides: Readonly<Record<string, unknown>>,
  thisArg: unknown,
  args: unknown[],
  mode: unknown,
): Promise<unknown> {
  let promise: PromisingPromise<unknown>;
  try {
    promise = callFromAnotherThread(wrapper, overrides, null, thisArg, args) as PromisingPromise<unknown>;
  } catch (error) {
    return Promise.reject(error);
  }
  return awaitRoot(promise, mode);
}

function runAsRoot(spec: CallSpec, thisArg: unknown, args: unknown[], mode: unknown): Promise<unknown> {
  let promise: PromisingPromise<unknown>;
  try {
    promise = createCallPromise(spec, thisArg, args);
  } catch (error) {
    return Promise.reject(error);
  }
  return awaitRoot(promise, mode);
}

async function awaitRoot(promise: PromisingPromise<unknown>, mode: unknown): Promise<unknown> {
  let value: unknown;
  let failure: { error: unknown } | null = null;
  try {
    value = await promise;
  } catch (error) {
    failure = { error };
  }
  // Like a structured-concurrency scope, the root waits for its subtree even when it failed,
  // so run() never returns while work it started is still going.
  if (mode !== false) await promise.awaitChildren({ recursively: mode !== true });
  if (failure !== null) throw failure.error;
  return value;
}

/** The same, for a method decorator call: the decorated function is marked as a method. */
const methodWrapping: Wrapping = {
  ...functionWrapping,
  wrap: (fn, options, placement) => decorate(fn, options, placement ?? "instance"),
};

/** Whether `args` are a method decorator's (standard `(fn, context)` or legacy `(target, key, descriptor)`). */
function isMethodDecoratorCall(args: unknown[]): boolean {
  if (isLegacyDecoratorCall(args)) return true;
  const context = args[1] as { kind?: unknown; addInitializer?: unknown } | null | undefined;
  return (
    args.length === 2 &&
    typeof context === "object" &&
    context !== null &&
    context.kind === "method" &&
    typeof context.addInitializer === "function"
  );
}

const wrappingFor = (args: unknown[]): Wrapping =>
  isMethodDecoratorCall(args) ? methodWrapping : functionWrapping;

// ---- the public decorator ----

/** The result of `promising.function(options)`: decorates a function, or a method in either decorator system. */
export interface FunctionDecorator {
  // The decorator overload must come first: TypeScript would match a decorator call
  // against the one-parameter `(fn)` overload otherwise.
  <This, A extends unknown[], R>(
    value: (this: This, ...args: A) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): any;
  <This, A extends unknown[], R>(
    fn: (this: This, ...args: A) => R,
  ): PromisingFunction<A, Awaited<R>, This, (this: This, ...args: A) => R>;
  (target: object, key: string | symbol, descriptor: PropertyDescriptor): any;
}

export interface PromisingFunctionApi {
  // The decorator overload must come first: TypeScript would match a decorator call
  // against the one-parameter `(fn)` overload otherwise.
  <This, A extends unknown[], R>(
    value: (this: This, ...args: A) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): any;
  <This, A extends unknown[], R>(
    fn: (this: This, ...args: A) => R,
  ): PromisingFunction<A, Awaited<R>, This, (this: This, ...args: A) => R>;
  <This, A extends unknown[], R>(
    options: FunctionOptions,
    fn: (this: This, ...args: A) => R,
  ): PromisingFunction<A, Awaited<R>, This, (this: This, ...args: A) => R>;
  (options: FunctionOptions): FunctionDecorator;
  (target: object, key: string | symbol, descriptor: PropertyDescriptor): any;
}

/**
 * `promising.function(fn)`, `promising.function(options, fn)`, `promising.function(options)(fn)`,
 * and the decorator forms `@promising.fn` / `@promising.fn(options)` on methods.
 */
export const promisingFunction: PromisingFunctionApi = ((...args: unknown[]): unknown => {
  const [first, second] = args;
  // A legacy decorator call passes a class prototype first, which looks like an options object.
  if (isPlainOptionsObject(first) && !isLegacyDecoratorCall(args)) {
    validateOptions(first, FUNCTION_KEYS, "promising.function", decorationError);
    const options = dropUndefined(first);
    if (args.length === 1)
      return ((...target: unknown[]) =>
        applyDecorator(wrappingFor(target), options, target)) as FunctionDecorator;
    if (args.length === 2 && typeof second === "function")
      return applyDecorator(functionWrapping, options, [second]);
    throw new DecorationError(
      "promising.function(options, fn): the second argument must be the function to decorate.",
    );
  }
  return applyDecorator(wrappingFor(args), {}, args);
}) as PromisingFunctionApi;

function dropUndefined(options: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) result[key] = value;
  return result;
}
