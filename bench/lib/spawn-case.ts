// Runs one case process and turns whatever happens to it (a result line, a
// crash, a hang) into a TaskResult, so that no system can take the harness down.

import { spawn } from "node:child_process";
import { describeError, parseResult, type TaskResult } from "./protocol.ts";

export interface CaseRun {
  /** Node binary that runs the case (BENCH_NODE or the orchestrator's own). */
  node: string;
  /** file: URL of the tsx loader, passed to --import so .ts cases run on any Node. */
  loader: string;
  /** Absolute path of the case file. */
  file: string;
  task: string;
  size?: number | undefined;
  /** Extra node flags for this task only (e.g. a larger stack). */
  nodeArgs?: readonly string[] | undefined;
  timeoutMs: number;
  cwd: string;
}

/** Keeps the tail of a stream: enough for the error that killed a case, bounded for chatty ones. */
const MAX_CAPTURE = 64 * 1024;
function appendBounded(buffer: string, chunk: string): string {
  const joined = buffer + chunk;
  return joined.length > MAX_CAPTURE ? joined.slice(-MAX_CAPTURE) : joined;
}

/** The line of a dead process's stderr that best says why (e.g. "RangeError: Maximum call stack ..."). */
function crashReason(stderr: string): string | undefined {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return lines.find((l) => /^([A-Z]\w*)?Error\b.*:/.test(l) || l.startsWith("FATAL ERROR")) ?? lines.at(-1);
}

export function runCaseProcess(run: CaseRun): Promise<TaskResult> {
  const args = [
    ...(run.nodeArgs ?? []),
    // --expose-gc: heap measurements and the per-repetition GC need global gc().
    "--expose-gc",
    "--import",
    run.loader,
    run.file,
    run.task,
    ...(run.size === undefined ? [] : [String(run.size)]),
  ];
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const child = spawn(run.node, args, { cwd: run.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, run.timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout = appendBounded(stdout, chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = appendBounded(stderr, chunk);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ kind: "error", message: `could not start ${run.node}: ${describeError(error)}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let result: TaskResult | undefined;
      try {
        result = parseResult(stdout);
      } catch (error) {
        result = { kind: "error", message: `unreadable result: ${describeError(error)}` };
      }
      if (result !== undefined) return resolve(result);
      if (timedOut) return resolve({ kind: "error", message: `timeout after ${run.timeoutMs / 1000} s` });
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      const reason = crashReason(stderr);
      resolve({ kind: "error", message: reason === undefined ? `crashed (${how})` : `${reason} (${how})` });
    });
  });
}
