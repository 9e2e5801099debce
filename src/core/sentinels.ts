import { inspect } from "node:util";

/**
 * A named marker value. Sentinels exist to be compared by identity (`x === INHERIT`).
 * JavaScript cannot intercept truthiness, so every coercion that *can* be intercepted
 * (template strings, `+x`, `x == "str"`, `String(x)`, `x.valueOf()`) throws
 * `SentinelUsageError`: a sentinel used as a value is always a bug.
 */
export class Sentinel<Name extends string = string> {
  readonly name: Name;

  constructor(name: Name) {
    this.name = name;
    Object.freeze(this);
  }

  [Symbol.toPrimitive](): never {
    throw sentinelMisuse(this);
  }

  valueOf(): never {
    throw sentinelMisuse(this);
  }

  toString(): never {
    throw sentinelMisuse(this);
  }

  /** Logging and JSON never coerce, so they are allowed to show the name. */
  toJSON(): string {
    return `Sentinel(${this.name})`;
  }

  [inspect.custom](): string {
    return `Sentinel(${this.name})`;
  }
}

// The error class lives in errors.ts, which imports nothing from here; a late-bound
// factory avoids a cycle between the two modules.
let makeUsageError: (message: string) => Error = (message) => new TypeError(message);

/** @internal */
export function setSentinelErrorFactory(factory: (message: string) => Error): void {
  makeUsageError = factory;
}

function sentinelMisuse(sentinel: Sentinel): Error {
  return makeUsageError(
    `The sentinel ${sentinel.name} was coerced to a primitive (string, number or comparison with ==). ` +
      `Sentinels are markers: compare them by identity, e.g. \`value === promising.${sentinel.name}\`.`,
  );
}

/** Call-time override that means "keep the value given at decoration time". */
export const UNCHANGED = new Sentinel("UNCHANGED");
/** Copy the setting from the parent context (falling back to the global default at the root). */
export const INHERIT = new Sentinel("INHERIT");
/** Read the current global setting from `Defaults`, ignoring the parent chain. */
export const PROMISING_DEFAULT = new Sentinel("PROMISING_DEFAULT");
/** `threadPool` value that selects the event loop's own default executor (see docs/threads.md). */
export const ASYNCIO_DEFAULT = new Sentinel("ASYNCIO_DEFAULT");
/** `awaitChildren` value for `run()`: await every descendant, not only direct children. */
export const RECURSIVELY = new Sentinel("RECURSIVELY");

/** Safe rendering of any option value for error messages (never coerces a sentinel). */
export function describeValue(value: unknown): string {
  if (value instanceof Sentinel) return value.name;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (value === null) return "null";
  if (typeof value === "object") return Object.prototype.toString.call(value);
  return String(value);
}
