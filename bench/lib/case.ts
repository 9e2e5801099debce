// Entry helper for a case process:
//   node --import tsx --expose-gc bench/cases/<system>.ts <task> [size]
// Runs the one task named on the command line against the system the case file
// loads, and reports the outcome as a single result line (see protocol.ts).

import { catchCrashes, orCrash } from "./crash.ts";
import { describeError, emitResult, type TaskResult } from "./protocol.ts";

/** A task gets the system and, when the orchestrator overrides it, the problem size. */
export type Task<S> = (system: S, size: number | undefined) => Promise<TaskResult>;

/** The tasks a group of cases understands, keyed by the name the orchestrator passes. */
export type Tasks<S> = Readonly<Record<string, Task<S>>>;

/**
 * `load` is a function (not a value) so that a system that fails to import or
 * construct (e.g. promising-ts while src/ is still being written) becomes an
 * "error: ..." cell instead of a dead process with a stack trace.
 */
export async function runCase<S>(tasks: Tasks<S>, load: () => S | Promise<S>): Promise<void> {
  catchCrashes();
  const [name = "", sizeArg] = process.argv.slice(2);
  const size = sizeArg === undefined ? undefined : Number(sizeArg);
  const task = Object.hasOwn(tasks, name) ? tasks[name] : undefined;
  let result: TaskResult;
  if (task === undefined) {
    result = {
      kind: "error",
      message: `unknown task "${name}"; expected one of ${Object.keys(tasks).join(", ")}`,
    };
  } else if (size !== undefined && !(Number.isSafeInteger(size) && size > 0)) {
    result = { kind: "error", message: `size must be a positive integer, got "${sizeArg}"` };
  } else {
    try {
      result = await orCrash(Promise.resolve(load()).then((system) => task(system, size)));
    } catch (error) {
      result = { kind: "error", message: describeError(error) };
    }
  }
  await emitResult(result);
  // Exit explicitly: a system may still hold timers, fibers or pools (or be
  // wedged after a crash), and the orchestrator only needs the result line.
  process.exit(0);
}
