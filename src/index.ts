/**
 * promising-ts — the public surface. This file only re-exports.
 * Recommended use: `import * as promising from "promising-ts"`.
 */
import { installThreadBridgeForThisThread } from "./threads/bridge.ts";

installThreadBridgeForThisThread();

export {
  awaitChildren,
  awaitChildrenSync,
  collectRemainingChildren,
  formatTrace,
  getActiveContext,
  getActivePromise,
  getTrace,
  printTrace,
} from "./api/active.ts";
export type {
  ContextFactory,
  ContextFunction,
  ContextOverrides,
  PromisingContextApi,
} from "./api/context.ts";
export { promisingContext as context } from "./api/context.ts";
export type { FunctionDecorator, PromisingFunctionApi } from "./api/function.ts";
// `function` is a reserved word, so it cannot be a local binding; it can be an export name.
// `fn` is the same object, for tools (esbuild, tsx, Vite) that reject `@promising.function`.
export { PromisingFunction, promisingFunction as function, promisingFunction as fn } from "./api/function.ts";
export {
  type AwaitChildrenOptions,
  type AwaitChildrenSyncOptions,
  type ContextMethods,
  PromisingContext,
  type RaiseOptions,
} from "./core/context.ts";
export { Defaults, type UnobservedFailureHandler } from "./core/defaults.ts";
export {
  ContextAlreadyActiveError,
  ContextError,
  ContextNotActiveError,
  ContextNotFoundError,
  DecorationError,
  EventLoopError,
  EventLoopMismatchError,
  NoRunningEventLoopError,
  PromiseNotDoneError,
  PromiseNotFoundError,
  PromisingError,
  SentinelUsageError,
  SyncUsageError,
  TimeoutError,
} from "./core/errors.ts";
export type {
  ContextOptions,
  FunctionOptions,
  FunctionOverrides,
  ParentLike,
  PromiseOptions,
  StartSoonDefaultValue,
  StartSoonValue,
  ThreadPoolValue,
} from "./core/options.ts";
export { type Layer, PromisingPromise as Promise, type SyncOptions } from "./core/promise.ts";
export {
  ASYNCIO_DEFAULT,
  INHERIT,
  PROMISING_DEFAULT,
  RECURSIVELY,
  Sentinel,
  UNCHANGED,
} from "./core/sentinels.ts";
export type { ConcurrentFuture } from "./core/thread-contract.ts";
export type { TraceOptions } from "./core/trace.ts";
export type { CollectOptions } from "./core/tree.ts";
export {
  type ConcurrentFutureData,
  type FutureWaitOptions,
  PromiseBackedConcurrentFuture,
} from "./threads/concurrent-future.ts";
export { ThreadPool, type ThreadPoolOptions, WorkerCrashedError } from "./threads/pool.ts";
