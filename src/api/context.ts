/**
 * `promising.context`: a fresh PromisingContext around a block (`.run`) or around every call
 * of a function (decorator form). Unlike `promising.function`, it returns what the block or
 * function returns, not a Promise.
 */
import { PromisingContext, runBlock, setAsyncBlockRecognizer } from "../core/context.ts";
import {
  CONTEXT_KEYS,
  type ContextOptions,
  decorationError,
  isPlainOptionsObject,
  validateOptions,
} from "../core/options.ts";
import { type Sentinel, UNCHANGED } from "../core/sentinels.ts";
import { applyDecorator, mirrorSignature, type Wrapping } from "./decorate.ts";

type AnyFunction = (...args: any[]) => any;

export type ContextOverrides = { [K in keyof ContextOptions]?: ContextOptions[K] | Sentinel<"UNCHANGED"> };

/** A function whose every call runs inside a fresh PromisingContext and returns the function's own result. */
export interface ContextFunction<A extends unknown[] = any[], R = any, This = unknown> {
  (this: This, ...args: A): R;
  /** The same function with call-time overrides of the context options. */
  with(overrides: ContextOverrides): ContextFunction<A, R, This>;
  readonly original: (this: This, ...args: A) => R;
}

/** The result of `promising.context(options)`: run a block in a fresh context, or decorate. */
export interface ContextFactory {
  // The decorator overload must come first: TypeScript would match a decorator call
  // against the one-parameter `(fn)` overload otherwise.
  <This, A extends unknown[], R>(
    value: (this: This, ...args: A) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): any;
  /** Runs `block` in a fresh context; returns what the block returns (for an async block, a promise settling as its own does). */
  run<R>(block: (context: PromisingContext) => R): R;
  <This, A extends unknown[], R>(fn: (this: This, ...args: A) => R): ContextFunction<A, R, This>;
  (target: object, key: string | symbol, descriptor: PropertyDescriptor): any;
}

export interface PromisingContextApi {
  // The decorator overload must come first: TypeScript would match a decorator call
  // against the one-parameter `(fn)` overload otherwise.
  <This, A extends unknown[], R>(
    value: (this: This, ...args: A) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): any;
  (options?: ContextOptions): ContextFactory;
  <This, A extends unknown[], R>(fn: (this: This, ...args: A) => R): ContextFunction<A, R, This>;
  (target: object, key: string | symbol, descriptor: PropertyDescriptor): any;
}

interface ContextFunctionState {
  readonly original: AnyFunction;
  readonly options: Record<string, unknown>;
  readonly receiver: { value: unknown } | null;
  /** Shared by bound copies, so a method learns its `Class.method` name once. */
  readonly naming: { namespace: string | null; given: boolean };
}

const kState = Symbol("promising-ts.context-function");

/** The function a `promising.context` wrapper wraps, or `null` when `fn` is no such wrapper. */
export function contextWrappedOriginal(fn: unknown): AnyFunction | null {
  return (fn as { [kState]?: ContextFunctionState } | null)?.[kState]?.original ?? null;
}

function stateOf(fn: unknown): ContextFunctionState {
  const state = (fn as { [kState]?: ContextFunctionState } | null)?.[kState];
  if (state === undefined) throw new TypeError("Expected a function wrapped by promising.context.");
  return state;
}

/**
 * Async when the function is, or, for a `promising.context` wrapper (a plain function that
 * returns what it wraps returns), when the function it wraps is.
 */
export function isAsyncFunction(fn: AnyFunction): boolean {
  let inner = fn;
  for (
    let wrapped = contextWrappedOriginal(inner);
    wrapped !== null;
    wrapped = contextWrappedOriginal(inner)
  ) {
    inner = wrapped;
  }
  return Object.prototype.toString.call(inner) === "[object AsyncFunction]";
}

// `ctx.run(wrapper)` with a wrapper of an async function runs until the wrapped function is done.
setAsyncBlockRecognizer((fn) => typeof fn === "function" && isAsyncFunction(fn as AnyFunction));

function makeContextFunction(state: ContextFunctionState): ContextFunction {
  const { original, options, receiver, naming } = state;
  // The block below is a plain arrow; what decides how long it runs is the wrapped function.
  const originalIsAsync = isAsyncFunction(original);
  const callInContext = (thisArg: unknown, args: unknown[]) =>
    runBlock(
      new PromisingContext({ ...options, namespace: naming.namespace }, decorationError),
      () => original.apply(thisArg, args),
      originalIsAsync,
    );
  const wrapper =
    receiver === null
      ? function (this: unknown, ...args: unknown[]) {
          return callInContext(this, args);
        }
      : (...args: unknown[]) => callInContext(receiver.value, args);
  mirrorSignature(wrapper, original);
  Object.defineProperty(wrapper, kState, { value: state });
  Object.defineProperty(wrapper, "original", { value: original });
  Object.defineProperty(wrapper, "with", {
    value: (overrides: ContextOverrides) => {
      validateOptions(
        overrides,
        CONTEXT_KEYS,
        `${original.name || "context function"}.with`,
        decorationError,
        true,
      );
      const merged = { ...options };
      for (const [key, value] of Object.entries(overrides)) {
        if (value !== undefined && value !== UNCHANGED) merged[key] = value;
      }
      const given = overrides.namespace !== undefined && overrides.namespace !== UNCHANGED;
      return makeContextFunction({
        original,
        options: merged,
        receiver,
        naming: given ? { namespace: merged.namespace as string | null, given } : naming,
      });
    },
  });
  return wrapper as unknown as ContextFunction;
}

const contextWrapping: Wrapping = {
  apiName: "promising.context",
  wrap(fn, options) {
    const given = options.namespace !== undefined;
    return makeContextFunction({
      original: fn,
      options,
      receiver: null,
      naming: { namespace: given ? (options.namespace as string | null) : fn.name || null, given },
    });
  },
  bind(wrapper, receiver) {
    return makeContextFunction({ ...stateOf(wrapper), receiver: { value: receiver } });
  },
  nameMethod(wrapper, namespace, _home) {
    const { naming } = stateOf(wrapper);
    if (!naming.given) naming.namespace = namespace;
  },
};

function makeFactory(options: Record<string, unknown>): ContextFactory {
  const factory = ((...target: unknown[]) =>
    applyDecorator(contextWrapping, options, target)) as ContextFactory;
  factory.run = (block) => new PromisingContext(options, decorationError).run(block);
  return factory;
}

/**
 * `promising.context(options).run(block)`, `promising.context(options)(fn)`, `promising.context(fn)`,
 * and `@promising.context` / `@promising.context(options)` on methods.
 */
export const promisingContext: PromisingContextApi = ((...args: unknown[]): unknown => {
  if (args.length === 0) return makeFactory({});
  const [first] = args;
  if (args.length === 1 && (first === undefined || isPlainOptionsObject(first))) {
    const options = first ?? {};
    validateOptions(options, CONTEXT_KEYS, "promising.context", decorationError);
    const defined: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(options)) if (value !== undefined) defined[key] = value;
    return makeFactory(defined);
  }
  return applyDecorator(contextWrapping, {}, args);
}) as PromisingContextApi;
