/**
 * Errors crossing threads. Structured clone keeps only built-in error types, so an error is
 * sent as a record (class name, message, stack, promise trace, cause, own data) and rebuilt
 * on the other side as an instance of the same class when that class is known there:
 * the built-in error classes and every promising-ts error class.
 */
import * as errors from "../core/errors.ts";

export interface ErrorRecord {
  readonly kind: "error";
  readonly name: string;
  readonly className: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly promisingTrace: string[] | undefined;
  readonly cause?: TransferredValue;
  readonly errors?: TransferredValue[];
  readonly props: Record<string, unknown>;
}

/** A thrown value: an error record, or any other cloneable value thrown as is. */
export type TransferredValue = ErrorRecord | { readonly kind: "value"; readonly value: unknown };

type ErrorClass = new (message?: string) => Error;

const KNOWN_CLASSES = new Map<string, ErrorClass>([
  ["Error", Error],
  ["TypeError", TypeError],
  ["RangeError", RangeError],
  ["SyntaxError", SyntaxError],
  ["ReferenceError", ReferenceError],
  ["EvalError", EvalError],
  ["URIError", URIError],
  ["AggregateError", AggregateError as unknown as ErrorClass],
  ...Object.entries(errors).map(([name, cls]) => [name, cls as ErrorClass] as const),
]);

const MAX_DEPTH = 8;

export function encodeThrown(thrown: unknown, depth = 0): TransferredValue {
  if (!(thrown instanceof Error) || depth > MAX_DEPTH) {
    return isCloneable(thrown) ? { kind: "value", value: thrown } : { kind: "value", value: String(thrown) };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === "cause" || key === "errors") continue;
    const value = (thrown as unknown as Record<string, unknown>)[key];
    if (isCloneable(value)) props[key] = value;
  }
  const trace = (thrown as { promisingTrace?: unknown }).promisingTrace;
  return {
    kind: "error",
    name: thrown.name,
    className: thrown.constructor?.name ?? thrown.name,
    message: thrown.message,
    stack: thrown.stack,
    promisingTrace: Array.isArray(trace) ? trace.map(String) : undefined,
    ...("cause" in thrown ? { cause: encodeThrown(thrown.cause, depth + 1) } : {}),
    ...(thrown instanceof AggregateError
      ? { errors: thrown.errors.map((e) => encodeThrown(e, depth + 1)) }
      : {}),
    props,
  };
}

export function decodeThrown(transferred: TransferredValue): unknown {
  if (transferred.kind === "value") return transferred.value;
  const cls = KNOWN_CLASSES.get(transferred.className) ?? KNOWN_CLASSES.get(transferred.name) ?? Error;
  // Built without running the constructor: its arguments are unknown here.
  const error = Object.create(cls.prototype) as Error;
  define(error, "message", transferred.message);
  if (transferred.stack !== undefined) define(error, "stack", transferred.stack);
  if (transferred.name !== cls.prototype.name) define(error, "name", transferred.name);
  if (transferred.promisingTrace !== undefined) define(error, "promisingTrace", transferred.promisingTrace);
  if (transferred.cause !== undefined) define(error, "cause", decodeThrown(transferred.cause));
  if (transferred.errors !== undefined) define(error, "errors", transferred.errors.map(decodeThrown));
  Object.assign(error, transferred.props);
  return error;
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

function isCloneable(value: unknown): boolean {
  if (value === null || (typeof value !== "object" && typeof value !== "function"))
    return typeof value !== "symbol";
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}
