/**
 * Failures nobody observed (SPEC 2.9, 4.8). A rejected promise never reaches Node's
 * `unhandledRejection` (its native side only settles once someone consumes it), so this module
 * is what keeps such failures from vanishing: each is reported once, when the promise is
 * garbage-collected without having been observed, or at process exit, whichever comes first.
 */
import { writeSync } from "node:fs";
import { Defaults } from "./defaults.ts";
import type { PromisingPromise } from "./promise.ts";
import { formatTraceOf } from "./trace.ts";

interface Pending {
  readonly error: unknown;
  readonly promise: WeakRef<PromisingPromise<unknown>>;
  /** The promise trace, kept here for an error that cannot carry one (a primitive, a frozen object). */
  readonly trace: string[] | null;
}

const pending = new Set<Pending>();
const byPromise = new WeakMap<PromisingPromise<unknown>, Pending>();
/** One report per error object, even if it rejected several promises. */
const reportedErrors = new WeakSet<object>();
let exitHookInstalled = false;

const finalizer = new FinalizationRegistry<Pending>((entry) => {
  if (pending.delete(entry)) report(entry.error, null, entry.trace);
});

export function trackUnobserved(promise: PromisingPromise<unknown>, error: unknown): void {
  // V8 keeps an error's raw stack frames, their receivers included (the promise itself, among
  // others), until `stack` is first read. Held here, they would keep the promise alive and the
  // report would wait for process exit; reading `stack` formats it and lets the frames go.
  // Guarded: a hostile error value (a revoked Proxy, throwing getters) must not break settling.
  try {
    if (error instanceof Error) void error.stack;
  } catch {
    // A throwing stack getter (a user's prepareStackTrace): the report falls back to safeString.
  }
  const entry: Pending = {
    error,
    promise: new WeakRef(promise),
    trace: carriedTrace(error) ? null : formatTraceOf(promise),
  };
  pending.add(entry);
  byPromise.set(promise, entry);
  finalizer.register(promise, entry, entry);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", reportAllPending);
  }
}

export function markObserved(promise: PromisingPromise<unknown>): void {
  const entry = byPromise.get(promise);
  if (entry === undefined) return;
  byPromise.delete(promise);
  pending.delete(entry);
  finalizer.unregister(entry);
}

function reportAllPending(): void {
  for (const entry of pending) report(entry.error, entry.promise.deref() ?? null, entry.trace);
  pending.clear();
}

function report(error: unknown, promise: PromisingPromise<unknown> | null, trace: string[] | null): void {
  if (error !== null && typeof error === "object") {
    if (reportedErrors.has(error)) return;
    reportedErrors.add(error);
  }
  const handler = Defaults.ON_UNOBSERVED_FAILURE;
  try {
    if (handler !== null) handler(error, promise);
    else writeSync(2, formatReport(error, trace));
  } catch (reporterFailure) {
    // A throwing custom reporter must not turn into an uncaught exception (at exit, or from the
    // finalizer, which would end a running process).
    try {
      writeSync(
        2,
        `promising-ts: ON_UNOBSERVED_FAILURE threw: ${safeString(reporterFailure)}\n${formatReport(error, trace)}`,
      );
    } catch {
      // stderr is gone: nothing left to report to.
    }
  }
}

function carriedTrace(error: unknown): boolean {
  try {
    return Array.isArray((error as { promisingTrace?: unknown } | null)?.promisingTrace);
  } catch {
    return false;
  }
}

/** `trace`: the promise trace when the error cannot carry one itself (see Pending.trace). */
export function formatReport(error: unknown, keptTrace: string[] | null = null): string {
  const trace =
    keptTrace ?? (carriedTrace(error) ? (error as { promisingTrace: unknown[] }).promisingTrace : null);
  const lines = ["promising-ts: a promise failed and nobody observed the failure."];
  if (Array.isArray(trace) && trace.length > 0) {
    lines.push("Promise trace (root first):", ...trace.map((entry) => `  ${String(entry)}`));
  }
  const stack = describeFailure(error);
  lines.push(stack);
  lines.push(
    "Await the promise (or call .catch()) to handle it; set promising.Defaults.ON_UNOBSERVED_FAILURE to change this report.",
  );
  return `${lines.join("\n")}\n`;
}

/** The error's stack, or its string form; never throws (hostile getters, revoked proxies). */
function describeFailure(error: unknown): string {
  try {
    if (error instanceof Error) return error.stack ?? safeString(error);
  } catch {
    // fall through to the string form
  }
  return safeString(error);
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "[a value that cannot be printed]";
    }
  }
}
