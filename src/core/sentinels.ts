import { inspect } from "node:util";

/**
 * A named marker value. Sentinels exist to be compared by identity (`x === INHERIT`).
 * JavaScript cannot intercept truthiness, so every coercion that *can* be intercepted
 * (template strings, `+x`, `x == "str"`, `String(x)`, `x.valueOf()`) throws
 * `SentinelUsageError`: a sentinel used as a value is always a bug.
 */
let sentinelsSealed = false;

export class Sentinel<Name extends string = string> {
  readonly name: Name;

  /** Not constructible outside this module: the five exported sentinels are the only ones. */
  private constructor(name: Name) {
    if (sentinelsSealed) {
      throw new TypeError(
        `Sentinels are the library's own singletons (promising.UNCHANGED, INHERIT, PROMISING_DEFAULT, ASYNCIO_DEFAULT, RECURSIVELY); ` +
          `use those instead of new Sentinel(${JSON.stringify(String(name))}).`,
      );
    }
    this.name = name;
    Object.freeze(this);
  }

  /** @internal */
  static _create<N extends string>(name: N): Sentinel<N> {
    return new Sentinel(name);
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
export const UNCHANGED = Sentinel._create("UNCHANGED");
/** Copy the setting from the parent context (falling back to the global default at the root). */
export const INHERIT = Sentinel._create("INHERIT");
/** Read the current global setting from `Defaults`, ignoring the parent chain. */
export const PROMISING_DEFAULT = Sentinel._create("PROMISING_DEFAULT");
/**
 * `threadPool` value kept for parity with Python, where it selects the event loop's default
 * executor. Node's event loop owns none, so it selects a separate pool the library owns;
 * `getThreadPoolExecutor()` returns `null` for it (see docs/threads.md).
 */
export const ASYNCIO_DEFAULT = Sentinel._create("ASYNCIO_DEFAULT");
/** `awaitChildren` value for `run()`: await every descendant, not only direct children. */
export const RECURSIVELY = Sentinel._create("RECURSIVELY");
sentinelsSealed = true;

/** Safe rendering of any option value for error messages (never coerces a sentinel). */
export function describeValue(value: unknown): string {
  if (value instanceof Sentinel) return value.name;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (value === null) return "null";
  if (typeof value === "object") return Object.prototype.toString.call(value);
  return String(value);
}
