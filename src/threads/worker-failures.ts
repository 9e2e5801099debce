/**
 * Errors that kill a pool worker when no task of it was running (a timer or promise a pool
 * function left behind threw or rejected unhandled): no promise is there to carry them, so
 * they are reported like unobserved failures (core/unobserved.ts): to stderr, or to
 * `Defaults.ON_UNOBSERVED_FAILURE` when set. The pool replaces the worker either way.
 */
import { writeSync } from "node:fs";
import { Defaults } from "../core/defaults.ts";
import { WORKER_FAILURE_KEY, type WorkerFailureInfo } from "./protocol.ts";

/** What the worker tagged `error` with before dying (worker-tasks.ts, tagFatalErrors); removes the tag. */
export function takeWorkerFailureInfo(error: unknown): WorkerFailureInfo | null {
  if (error === null || typeof error !== "object" || !Object.hasOwn(error, WORKER_FAILURE_KEY)) return null;
  const info = (error as Record<string, unknown>)[WORKER_FAILURE_KEY] as WorkerFailureInfo;
  try {
    delete (error as Record<string, unknown>)[WORKER_FAILURE_KEY];
  } catch {
    // Left in place: harmless.
  }
  return info;
}

export function reportWorkerFailure(error: unknown, info: WorkerFailureInfo | null): void {
  const trace = info?.trace ?? [];
  if (
    trace.length > 0 &&
    error !== null &&
    typeof error === "object" &&
    !Object.hasOwn(error, "promisingTrace")
  ) {
    try {
      Object.defineProperty(error, "promisingTrace", {
        value: trace,
        enumerable: false,
        configurable: true,
        writable: true,
      });
    } catch {
      // The report below still shows the trace.
    }
  }
  const handler = Defaults.ON_UNOBSERVED_FAILURE;
  try {
    if (handler !== null) handler(error, null);
    else writeSync(2, formatWorkerFailure(error, info));
  } catch (reporterFailure) {
    writeSync(
      2,
      `promising-ts: ON_UNOBSERVED_FAILURE threw: ${String(reporterFailure)}\n${formatWorkerFailure(error, info)}`,
    );
  }
}

export function formatWorkerFailure(error: unknown, info: WorkerFailureInfo | null): string {
  const what = info?.origin === "unhandledRejection" ? "an unhandled promise rejection" : "an uncaught error";
  const where = info?.functionName ? ` from the pool function ${info.functionName}` : "";
  const lines = [
    `promising-ts: a pool worker thread died of ${what}${where}, which no promise could carry; the pool replaced the worker.`,
  ];
  const trace = info?.trace ?? [];
  if (trace.length > 0) lines.push("Promise trace (root first):", ...trace.map((entry) => `  ${entry}`));
  let stack: string;
  try {
    stack = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  } catch {
    stack = Object.prototype.toString.call(error);
  }
  lines.push(stack);
  lines.push(
    "Handle errors in the timers, callbacks and promises a pool function starts, or return the promise so that " +
      "its failure reaches the caller; set promising.Defaults.ON_UNOBSERVED_FAILURE to change this report.",
  );
  return `${lines.join("\n")}\n`;
}
