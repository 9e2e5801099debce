/**
 * Thrown values crossing threads, for the pool protocol and the blocking channel alike.
 * Structured clone keeps only built-in error types and drops their extra state, so an error
 * is sent as a record (class name, name, message, stack, promise trace, cause, aggregated
 * errors, cloneable own properties) and rebuilt on the other side as a genuine error of the
 * same class when that class is known there: the built-in error classes, every promising-ts
 * error class, and whatever classes the receiver adds. An error of another class (a user's
 * `class MyError extends PromisingError`) records the names of its ancestor classes, up to the
 * nearest known one, and arrives as an instance of the nearest ancestor the receiver knows,
 * with its own `name`.
 */
import { types } from "node:util";
import * as libraryErrors from "../core/errors.ts";
import { WorkerCrashedError } from "./errors.ts";

export interface ErrorRecord {
  readonly kind: "error";
  readonly className: string;
  /**
   * For a class the sender's defaults do not know: the names of its ancestor classes, nearest
   * first, up to the first one they know (a promising-ts or built-in error class).
   */
  readonly ancestors?: string[];
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** promising-ts's non-enumerable promise trace (SPEC 4.6), kept non-enumerable on arrival. */
  readonly promisingTrace?: string[];
  readonly cause?: TransferredValue;
  readonly errors?: TransferredValue[];
  readonly props?: Record<string, unknown>;
}

/** A thrown value: an error record, or any other value thrown as is. Always cloneable. */
export type TransferredValue = ErrorRecord | { readonly kind: "value"; readonly value: unknown };

export type ErrorClass = abstract new (...args: any[]) => Error;

/** How deep causes and aggregated errors are encoded. */
const MAX_DEPTH = 8;
/** Own keys carried by the record itself rather than in `props`. */
const RECORD_KEYS = new Set(["name", "message", "stack", "cause", "errors"]);

const BUILTIN_ERRORS: readonly ErrorClass[] = [
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
];

const LIBRARY_ERRORS: readonly ErrorClass[] = [
  ...(Object.values(libraryErrors) as unknown[]).filter(
    (value): value is ErrorClass => typeof value === "function" && value.prototype instanceof Error,
  ),
  WorkerCrashedError,
];

/** The classes `decodeThrown` rebuilds by name: built-in, promising-ts, and `extra`. */
export function errorClassMap(extra: readonly ErrorClass[] = []): ReadonlyMap<string, ErrorClass> {
  return new Map([...BUILTIN_ERRORS, ...LIBRARY_ERRORS, ...extra].map((cls) => [cls.name, cls]));
}

const DEFAULT_CLASSES = errorClassMap();

/** A thrown value that cannot be cloned crosses as this error instead. */
export type ExplainUncloneable = (value: unknown) => Error;

const explainByDefault: ExplainUncloneable = (value) =>
  new TypeError(
    `A value thrown in another thread cannot cross threads: it cannot be structured-cloned (${describe(value)}).`,
  );

/** Encodes a thrown value so that it can always be structured-cloned (uncloneable parts are dropped or explained). */
export function encodeThrown(
  thrown: unknown,
  explainUncloneable: ExplainUncloneable = explainByDefault,
  depth = 0,
): TransferredValue {
  if (depth <= MAX_DEPTH && (thrown instanceof Error || types.isNativeError(thrown))) {
    try {
      return encodeError(thrown as Error, explainUncloneable, depth);
    } catch {
      // A hostile getter: treat it as any other value.
    }
  }
  if (isCloneable(thrown)) return { kind: "value", value: thrown };
  return encodeError(explainUncloneable(thrown), explainUncloneable, MAX_DEPTH + 1);
}

function encodeError(error: Error, explain: ExplainUncloneable, depth: number): ErrorRecord {
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(error)) {
    if (RECORD_KEYS.has(key)) continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (!isCloneable(value)) continue;
    props ??= {};
    props[key] = value;
  }
  const trace = (error as { promisingTrace?: unknown }).promisingTrace;
  const errors = (error as { errors?: unknown }).errors;
  const nested = depth < MAX_DEPTH;
  const className = error.constructor?.name ?? "Error";
  const ancestors = DEFAULT_CLASSES.has(className) ? undefined : knownAncestry(error);
  return {
    kind: "error",
    className,
    ...(ancestors !== undefined ? { ancestors } : {}),
    name: String(error.name),
    message: String(error.message),
    stack: typeof error.stack === "string" ? error.stack : undefined,
    ...(Array.isArray(trace) ? { promisingTrace: trace.map(String) } : {}),
    ...(nested && "cause" in error ? { cause: encodeThrown(error.cause, explain, depth + 1) } : {}),
    ...(nested && Array.isArray(errors)
      ? { errors: errors.map((item) => encodeThrown(item, explain, depth + 1)) }
      : {}),
    ...(props !== undefined ? { props } : {}),
  };
}

/** How far up the prototype chain `knownAncestry` looks. */
const MAX_ANCESTORS = 32;

/**
 * The names of the classes `error`'s class extends, nearest first, up to and including the first
 * one the defaults know; undefined when the chain names none (an error from `Object.create`).
 */
function knownAncestry(error: Error): string[] | undefined {
  const names: string[] = [];
  let proto: unknown = Object.getPrototypeOf(Object.getPrototypeOf(error));
  while (proto !== null && typeof proto === "object" && names.length < MAX_ANCESTORS) {
    // The descriptor, not `proto.constructor`: no getter runs.
    const ctor: unknown = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
    const name: unknown =
      typeof ctor === "function" ? Object.getOwnPropertyDescriptor(ctor, "name")?.value : undefined;
    if (typeof name === "string" && name !== "") {
      names.push(name);
      if (DEFAULT_CLASSES.has(name)) return names;
    }
    proto = Object.getPrototypeOf(proto);
  }
  return undefined;
}

/**
 * Rebuilds a thrown value. An error gets its class when `classes` has it, else the nearest of its
 * recorded ancestors that `classes` has (else `Error`), and keeps its original name either way.
 */
export function decodeThrown(
  transferred: TransferredValue,
  classes: ReadonlyMap<string, ErrorClass> = DEFAULT_CLASSES,
): unknown {
  if (transferred.kind === "value") return transferred.value;
  const error = instantiate(transferred, classes);
  if (transferred.stack !== undefined) define(error, "stack", transferred.stack);
  if (transferred.promisingTrace !== undefined) define(error, "promisingTrace", transferred.promisingTrace);
  if (transferred.cause !== undefined) define(error, "cause", decodeThrown(transferred.cause, classes));
  if (transferred.errors !== undefined)
    define(
      error,
      "errors",
      transferred.errors.map((item) => decodeThrown(item, classes)),
    );
  if (transferred.props !== undefined) Object.assign(error, transferred.props);
  return error;
}

function instantiate(record: ErrorRecord, classes: ReadonlyMap<string, ErrorClass>): Error {
  if (record.className === "DOMException" && typeof DOMException === "function") {
    return new DOMException(record.message, record.name);
  }
  const cls =
    classes.get(record.className) ??
    nearestKnown(record.ancestors, classes) ??
    classes.get(record.name) ??
    Error;
  // A genuine native error with the class's prototype, without running the class's constructor
  // (which may want other arguments or have side effects).
  const error: Error = Reflect.construct(Error, [record.message], cls);
  if (error.name !== record.name) define(error, "name", record.name);
  return error;
}

function nearestKnown(
  ancestors: readonly string[] | undefined,
  classes: ReadonlyMap<string, ErrorClass>,
): ErrorClass | undefined {
  if (ancestors === undefined) return undefined;
  for (const name of ancestors) {
    const cls = classes.get(name);
    if (cls !== undefined) return cls;
  }
  return undefined;
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

export function isCloneable(value: unknown): boolean {
  if (value === null || (typeof value !== "object" && typeof value !== "function"))
    return typeof value !== "symbol";
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** A short description of a value for error messages; never throws. */
export function describe(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
