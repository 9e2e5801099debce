/**
 * Errors for values that cannot cross threads, naming the culprit. A promise is the most common
 * one: only a promising Promise passed as an argument itself (or returned itself) crosses, as a
 * handle; one inside an array or object, and any native promise, fails the structured clone.
 */
import { types } from "node:util";

/** The error for a call whose arguments (or `this`) cannot cross threads, naming the culprit. */
export function cloneFailure(
  name: string,
  hasThis: boolean,
  args: readonly unknown[],
  cause: unknown,
  destination: "a worker thread" | "the main thread",
): TypeError {
  const fails = (arg: unknown) => {
    try {
      structuredClone(arg);
      return false;
    } catch {
      return true;
    }
  };
  // A promising Promise as an argument itself crosses as a handle (unless it is a worker's own).
  let index = args.findIndex((arg) => !isPromisingPromise(arg) && fails(arg));
  if (index < 0) index = args.findIndex(isPromisingPromise);
  const what = index >= 0 ? `argument ${index + 1}` : hasThis ? "`this`" : "a value";
  const reason = `${what} cannot be sent to ${destination} (${(cause as Error)?.message ?? String(cause)}).`;
  const promise = index >= 0 ? findPromise(args[index], what) : undefined;
  if (promise !== undefined) {
    return new TypeError(
      `${name || "promising function"}: ${reason} ${explainPromise(what, promise, "argument")}`,
      { cause },
    );
  }
  return new TypeError(
    `${name || "promising function"}: ${reason} Arguments, \`this\` and results of functions that ` +
      "cross threads travel by structured clone: pass plain data (no functions, sockets, or class " +
      "instances whose state lives in private fields).",
    { cause },
  );
}

/** The error for a pool function's result that cannot be sent back to the main thread. */
export function resultCloneFailure(value: unknown, cause: unknown): TypeError {
  const reason = `The result cannot be sent back from the worker thread (${(cause as Error)?.message ?? String(cause)}).`;
  const promise = findPromise(value, "the result");
  if (promise !== undefined) {
    return new TypeError(`${reason} ${explainPromise("the result", promise, "result")}`, { cause });
  }
  return new TypeError(
    `${reason} Results of useThreadPool functions cross threads by structured clone: return plain data.`,
    { cause },
  );
}

interface FoundPromise {
  /** Where it is: the value's description followed by property accesses (`argument 1[0]`). */
  readonly path: string;
  readonly promising: boolean;
}

function explainPromise(base: string, found: FoundPromise, role: "argument" | "result"): string {
  const where = found.path.charAt(0).toUpperCase() + found.path.slice(1);
  const itself = role === "argument" ? "passed as an argument itself" : "returned itself";
  if (!found.promising) {
    return (
      `${where} is a native Promise (as promising.Promise.resolve(value) returns for a value that is not ` +
      "a promising Promise), and promises cannot be structured-cloned: only a promising Promise " +
      `${itself} crosses threads, as a handle. ` +
      (role === "argument"
        ? "Await it first and pass its value."
        : "Return the promise itself, or its value.")
    );
  }
  if (found.path === base) {
    return (
      `${where} is a promising Promise of this worker thread (made here with new promising.Promise): only ` +
      "promises of the main thread's tree (made by calling promising functions) cross threads as handles. " +
      (role === "argument" ? "Await it first and pass its value." : "Wait for it first and return its value.")
    );
  }
  return (
    `${where} is a promising Promise: only a promising Promise ${itself} crosses threads, as a handle to ` +
    "the same promise; one inside an array, object or other value cannot be structured-cloned. " +
    (role === "argument"
      ? "Pass the promise itself as an argument, or await it first and pass its value."
      : "Return the promise itself, or wait for it first (`.sync()`) and return its value.")
  );
}

function isPromisingPromise(value: unknown): boolean {
  return (
    types.isPromise(value) &&
    typeof (value as { unpackOnce?: unknown }).unpackOnce === "function" &&
    typeof (value as { sync?: unknown }).sync === "function"
  );
}

/** How many values `findPromise` looks at before giving up. */
const MAX_VISITS = 10_000;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The first promise in `value` (itself, or inside arrays, objects, maps and sets), breadth first. */
function findPromise(value: unknown, base: string): FoundPromise | undefined {
  const seen = new Set<object>();
  const queue: [unknown, string][] = [[value, base]];
  try {
    for (let index = 0; index < queue.length && index < MAX_VISITS; index++) {
      const [item, path] = queue[index]!;
      if (item === null || typeof item !== "object" || seen.has(item)) continue;
      seen.add(item);
      if (types.isPromise(item)) return { path, promising: isPromisingPromise(item) };
      if (types.isProxy(item)) continue;
      if (Array.isArray(item)) {
        for (let at = 0; at < item.length; at++) queue.push([item[at], `${path}[${at}]`]);
      } else if (item instanceof Map) {
        for (const [key, entry] of item) queue.push([entry, `${path}.get(${describeKey(key)})`]);
      } else if (item instanceof Set) {
        for (const entry of item) queue.push([entry, `${path} (a Set entry)`]);
      } else {
        for (const key of Object.keys(item)) {
          const descriptor = Object.getOwnPropertyDescriptor(item, key);
          // Only data properties: no getter runs.
          if (descriptor !== undefined && "value" in descriptor)
            queue.push([
              descriptor.value,
              IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`,
            ]);
        }
      }
    }
  } catch {
    // A hostile value: no hint.
  }
  return undefined;
}

function describeKey(key: unknown): string {
  return typeof key === "string"
    ? JSON.stringify(key)
    : typeof key === "object"
      ? "an object key"
      : String(key);
}
