// The contract between the orchestrator (bench/run.ts) and the case processes
// (bench/cases/*.ts). Each case process runs exactly one task and writes one
// result line to stdout; everything else it prints is ignored by the parent.

/** Prefix of the single stdout line that carries a case's JSON result. */
export const RESULT_MARKER = "BENCH_RESULT ";

/** A timing: nanoseconds per unit of work (child, level, ...), one value per repetition. */
export interface TimeResult {
  kind: "time";
  units: number;
  nsPerUnit: number;
  samples: number[];
}

/** Heap retained per unit, in bytes, one value per repetition. */
export interface BytesResult {
  kind: "bytes";
  units: number;
  bytesPerUnit: number;
  samples: number[];
}

/** Whether something completed at all (e.g. a very deep chain), and how long it took. */
export interface OutcomeResult {
  kind: "outcome";
  ok: boolean;
  /** "ok", "stack overflow", or a short description of what went wrong. */
  status: string;
  ms: number;
}

/** The task itself failed (the system could not be loaded, a wrong result, a crash, a timeout). */
export interface ErrorResult {
  kind: "error";
  message: string;
}

export type TaskResult = TimeResult | BytesResult | OutcomeResult | ErrorResult;

/** Writes the result line and resolves once it has been flushed, so the caller may exit. */
export function emitResult(result: TaskResult): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`, () => resolve());
  });
}

/** Finds the result line in a case process's stdout, or returns undefined. */
export function parseResult(stdout: string): TaskResult | undefined {
  const line = stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith(RESULT_MARKER));
  return line === undefined ? undefined : (JSON.parse(line.slice(RESULT_MARKER.length)) as TaskResult);
}

/**
 * One-line description of anything thrown, for table cells. A first line that only
 * announces the details ("Transform failed with 1 error:") is joined with the next one.
 */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const first = lines[0] ?? "";
  return first.trimEnd().endsWith(":") && lines[1] !== undefined ? `${first} ${lines[1].trim()}` : first;
}
