/**
 * Option objects replace the Python original's keyword arguments. This module holds their
 * types (the documentation users see in their editor) and one validator, so every entry
 * point rejects the same bad input with the same message.
 */

// Type-only, as in defaults.ts: a pool option is the concrete ThreadPool the thread bridge creates.
import type { ThreadPool } from "../threads/pool.ts";
import type { PromisingContext } from "./context.ts";
import { DecorationError } from "./errors.ts";
import type { PromisingPromise } from "./promise.ts";
import {
  ASYNCIO_DEFAULT,
  describeValue,
  INHERIT,
  PROMISING_DEFAULT,
  RECURSIVELY,
  type Sentinel,
  UNCHANGED,
} from "./sentinels.ts";
import { getThreadBridge } from "./thread-contract.ts";

/** Anything that can be a parent: a PromisingContext or a promising Promise. */
export type ParentLike = PromisingContext | PromisingPromise<unknown>;

export type StartSoonValue = boolean | null | Sentinel<"INHERIT">;
export type StartSoonDefaultValue = boolean | Sentinel<"INHERIT"> | Sentinel<"PROMISING_DEFAULT">;
export type ThreadPoolValue =
  | ThreadPool
  | Sentinel<"INHERIT">
  | Sentinel<"PROMISING_DEFAULT">
  | Sentinel<"ASYNCIO_DEFAULT">;

/** Settings shared by promises and contexts. */
export interface ContextOptions {
  /** Human-readable label shown in `toString()` and traces. */
  namespace?: string | null | undefined;
  /** Explicit parent; `null` makes a root. Absent: the active context. */
  parent?: ParentLike | null | undefined;
  /**
   * `startSoon` enforced on children that leave theirs `null`. `null`: no enforcement;
   * `INHERIT`: the parent's policy (default for contexts; promises default to `null`).
   */
  childrenStartSoon?: StartSoonValue | undefined;
  /** Local override of `Defaults.START_SOON` for this subtree. `INHERIT` (default) or `PROMISING_DEFAULT` (read the global now). */
  startSoonDefault?: StartSoonDefaultValue | undefined;
  /** Pool for `useThreadPool: true` functions. `INHERIT` (default) falls back to `PROMISING_DEFAULT` at the root. */
  threadPool?: ThreadPoolValue | undefined;
}

export interface PromiseOptions extends ContextOptions {
  /**
   * Start at the next microtask (`true`) or on first consumption (`false`). `null` (default):
   * the parent's `childrenStartSoon` if it enforces one, else `startSoonDefault`.
   * `INHERIT`: the nearest parent promise's own `startSoon`.
   */
  startSoon?: StartSoonValue | undefined;
}

export interface FunctionOptions extends PromiseOptions {
  /**
   * Required for sync functions: `true` runs them on a worker thread of the pool, `false` on
   * the event loop thread. Not allowed on async functions.
   */
  useThreadPool?: boolean | undefined;
  /** For `useThreadPool: true`: the URL or path of the defining module, when it cannot be found automatically. */
  module?: string | URL | undefined;
  /** Used by `.run()` only: `RECURSIVELY` (default) awaits every descendant, `true` direct children, `false` none. */
  awaitChildren?: boolean | Sentinel<"RECURSIVELY"> | undefined;
}

/** Call-time overrides: like FunctionOptions, and any key may be `UNCHANGED` (keep the decoration-time value). */
export type FunctionOverrides = {
  [K in keyof FunctionOptions]?: FunctionOptions[K] | Sentinel<"UNCHANGED">;
};

export type ErrorFactory = (message: string) => Error;

interface OptionRule {
  accepts: (value: unknown) => boolean;
  expected: string;
}

const isBoolean = (v: unknown) => typeof v === "boolean";
const isThreadPool = (v: unknown) => getThreadBridge().isThreadPool(v);

/** Filled in by context.ts (to avoid a module cycle): recognizes PromisingContext and Promise. */
let isParentNode: (value: unknown) => boolean = () => false;
/** @internal */
export function setParentRecognizer(recognize: (value: unknown) => boolean): void {
  isParentNode = recognize;
}

const RULES: Record<string, OptionRule> = {
  namespace: { accepts: (v) => v === null || typeof v === "string", expected: "a string or null" },
  parent: {
    accepts: (v) => v === null || isParentNode(v),
    expected: "a PromisingContext, a promising.Promise, or null for a root",
  },
  startSoon: {
    accepts: (v) => v === null || isBoolean(v) || v === INHERIT,
    expected: "true, false, null or INHERIT",
  },
  childrenStartSoon: {
    accepts: (v) => v === null || isBoolean(v) || v === INHERIT,
    expected: "true, false, null or INHERIT",
  },
  startSoonDefault: {
    accepts: (v) => isBoolean(v) || v === INHERIT || v === PROMISING_DEFAULT,
    expected: "true, false, INHERIT or PROMISING_DEFAULT",
  },
  threadPool: {
    accepts: (v) => v === INHERIT || v === PROMISING_DEFAULT || v === ASYNCIO_DEFAULT || isThreadPool(v),
    expected: "a promising.ThreadPool, INHERIT, PROMISING_DEFAULT or ASYNCIO_DEFAULT",
  },
  useThreadPool: { accepts: isBoolean, expected: "true or false" },
  module: {
    accepts: (v) => (typeof v === "string" && v.length > 0) || v instanceof URL,
    expected: "a module URL (import.meta.url) or file path",
  },
  awaitChildren: {
    accepts: (v) => isBoolean(v) || v === RECURSIVELY,
    expected: "true, false or RECURSIVELY",
  },
  prefilledResult: {
    accepts: (v) => !isThenable(v),
    expected: "a plain value (pass a thenable as the work instead: new promising.Promise(thenable))",
  },
  prefilledError: { accepts: () => true, expected: "any value" },
  // Options of the hierarchy methods and module functions (awaitChildren, collectRemainingChildren, traces, getters).
  recursively: { accepts: (v) => isBoolean(v) || v === RECURSIVELY, expected: "true, false or RECURSIVELY" },
  excludeNonAwaitable: { accepts: isBoolean, expected: "true or false" },
  excludeDone: { accepts: isBoolean, expected: "true or false" },
  parentsFirst: { accepts: isBoolean, expected: "true or false" },
  raiseIfNone: { accepts: isBoolean, expected: "true or false" },
  timeoutMs: {
    accepts: (v) => v === null || (typeof v === "number" && v >= 0 && !Number.isNaN(v)),
    expected: "a number of milliseconds >= 0, or Infinity or null to wait without limit",
  },
};

/** Option keys of the hierarchy methods; the module functions also take `raiseIfNone`. */
export const HIERARCHY_KEYS = {
  raise: ["raiseIfNone"],
  awaitChildren: ["recursively"],
  awaitChildrenSync: ["recursively", "timeoutMs"],
  collect: ["recursively", "excludeNonAwaitable", "excludeDone"],
  trace: ["parentsFirst"],
} as const;

/**
 * Validates the options of a hierarchy method or module function (`where` names it in the
 * message); `undefined` stands for "no options". Same rules as everywhere: an unknown key or a
 * value of the wrong type throws a TypeError that names the accepted values.
 */
export function validateCallOptions(options: unknown, keys: readonly string[], where: string): void {
  if (options !== undefined) validateOptions(options, keys, where, typeError);
}

export const CONTEXT_KEYS = [
  "namespace",
  "parent",
  "childrenStartSoon",
  "startSoonDefault",
  "threadPool",
] as const;
export const PROMISE_KEYS = [...CONTEXT_KEYS, "startSoon", "prefilledResult", "prefilledError"] as const;
export const FUNCTION_KEYS = [
  ...CONTEXT_KEYS,
  "startSoon",
  "useThreadPool",
  "module",
  "awaitChildren",
] as const;

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

export function isPlainOptionsObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Throws (via `makeError`) on a non-object, an unknown key, or a value the key does not accept.
 * `allowUnchanged` admits `UNCHANGED` for every key (call-time overrides).
 */
export function validateOptions(
  options: unknown,
  allowedKeys: readonly string[],
  where: string,
  makeError: ErrorFactory,
  allowUnchanged = false,
): asserts options is Record<string, unknown> {
  if (!isPlainOptionsObject(options)) {
    throw makeError(`${where}: options must be a plain object, got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!allowedKeys.includes(key)) {
      throw makeError(`${where}: unknown option "${key}". Accepted options: ${allowedKeys.join(", ")}.`);
    }
    const value = options[key];
    if (value === undefined || (allowUnchanged && value === UNCHANGED)) continue;
    const rule = RULES[key]!;
    if (!rule.accepts(value)) {
      throw makeError(`${where}: option "${key}" must be ${rule.expected}; got ${describeValue(value)}.`);
    }
  }
}

export const decorationError: ErrorFactory = (message) => new DecorationError(message);
export const typeError: ErrorFactory = (message) => new TypeError(message);
