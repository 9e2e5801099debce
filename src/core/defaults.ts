// Type-only: the core never loads thread code, but the public type of the default pool is the
// concrete ThreadPool the thread bridge creates.
import type { ThreadPool } from "../threads/pool.ts";
import type { PromisingPromise } from "./promise.ts";
import { getThreadBridge, type ThreadPoolLike } from "./thread-contract.ts";

/** Receives a failure that no consumer ever observed (see docs/failures.md). */
export type UnobservedFailureHandler = (error: unknown, promise: PromisingPromise<unknown> | null) => void;

let startSoon = true;
let defaultPool: ThreadPoolLike | null = null;
let unobservedHandler: UnobservedFailureHandler | null = null;

/**
 * Process-wide defaults. Values are read when a Promise or context is *created*
 * (configuration is frozen then), so changing them never affects existing promises.
 */
export class Defaults {
  private constructor() {}

  /** Whether promises start eagerly when nothing in their parent chain decides. Initially `true`. */
  static get START_SOON(): boolean {
    return startSoon;
  }

  static set START_SOON(value: boolean) {
    if (typeof value !== "boolean") {
      throw new TypeError(`Defaults.START_SOON must be a boolean, got ${typeof value}.`);
    }
    startSoon = value;
  }

  /** The pool used when `threadPool` resolves to PROMISING_DEFAULT. Created on first read; it starts no thread until used. */
  static get PROMISING_THREAD_POOL(): ThreadPool {
    defaultPool ??= getThreadBridge().createDefaultPool();
    return defaultPool as ThreadPool;
  }

  static set PROMISING_THREAD_POOL(pool: ThreadPool) {
    if (!getThreadBridge().isThreadPool(pool)) {
      throw new TypeError("Defaults.PROMISING_THREAD_POOL must be a promising.ThreadPool.");
    }
    defaultPool = pool;
  }

  /**
   * Replaces the reporter of failures nobody observed. `null` restores the default, which
   * writes the error's stack and its promise trace to stderr. The second argument is the
   * Promise when it is still alive (reports at process exit) and `null` when it was
   * garbage-collected (a finalizer cannot hand back the object it watched).
   */
  static get ON_UNOBSERVED_FAILURE(): UnobservedFailureHandler | null {
    return unobservedHandler;
  }

  static set ON_UNOBSERVED_FAILURE(handler: UnobservedFailureHandler | null) {
    if (handler !== null && typeof handler !== "function") {
      throw new TypeError(
        "Defaults.ON_UNOBSERVED_FAILURE must be a function (error, promise) => void, or null.",
      );
    }
    unobservedHandler = handler;
  }
}

// A misspelt setting (`Defaults.START_SON = false`) must not be silently accepted: in strict
// code (every ES module) assigning an unknown key now throws a TypeError.
Object.preventExtensions(Defaults);

/** @internal Whether a default pool exists already (so shutdown code need not create one). */
export function peekDefaultPool(): ThreadPoolLike | null {
  return defaultPool;
}
