import { setSentinelErrorFactory } from "./sentinels.ts";

/** Base class of every error this library throws on its own behalf. */
export class PromisingError extends Error {
  // `{ cause }` spelled out rather than `ErrorOptions`, which exists only from lib ES2022: the
  // published declarations must compile for consumers on older `lib` settings too.
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    // `new.target.name` keeps subclasses readable in stacks without repeating the
    // name in every subclass body.
    Object.defineProperty(this, "name", {
      value: new.target.name,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}

export class ContextError extends PromisingError {}
/** No active PromisingContext where one is needed (or no parent, with `raiseIfNone`). */
export class ContextNotFoundError extends ContextError {}
/** A context was entered while it is already active in the current flow. */
export class ContextAlreadyActiveError extends ContextError {}
/** A context was exited while it is not active. */
export class ContextNotActiveError extends ContextError {}

export class EventLoopError extends PromisingError {}
/**
 * Exported for parity with Python (awaiting a Promise from another event loop); never thrown:
 * blocking on a promise from the thread that owns it raises SyncUsageError instead.
 */
export class EventLoopMismatchError extends EventLoopError {}
/** Exported for parity with Python (no running event loop); never thrown: Node always has one. */
export class NoRunningEventLoopError extends EventLoopError {}

/** Invalid use of `promising.function` / `promising.context` or of their options. */
export class DecorationError extends PromisingError {}
/** No active Promise where one is needed. */
export class PromiseNotFoundError extends PromisingError {}
/** A sentinel was coerced to a primitive; compare sentinels by identity instead. */
export class SentinelUsageError extends PromisingError {}
/** A blocking call was made on the thread that owns the Promise's event loop (it would deadlock). */
export class SyncUsageError extends PromisingError {}
/** `result()` / `error()` were asked of a Promise that has not settled yet. */
export class PromiseNotDoneError extends PromisingError {}
/** A blocking wait (`sync`, `awaitChildrenSync`, concurrent future) ran out of time; the work keeps running. */
export class TimeoutError extends PromisingError {}

setSentinelErrorFactory((message) => new SentinelUsageError(message));
