/**
 * Entry point of a pool worker thread. It publishes the worker runtime on `globalThis`
 * before the library loads (so the library installs the worker bridge, and `fn.run()` outside
 * a task, as at a module's top level, is a no-op here), then runs the tasks it is sent one at a time, each
 * only if it wins the task's claim (the main thread may have given it to another worker).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import type { FunctionRef } from "./function-registry.ts";
import type { MainToWorker, TaskMessage } from "./protocol.ts";
import { ShortIdNames, ShortIds } from "./short-ids.ts";
import { SyncChannelClient, type SyncChannelWorkerEnd } from "./sync-channel.ts";
import { claimTask, postedCount, waitForPosted } from "./task-claims.ts";
import { WorkerNodeRefs } from "./worker-node-refs.ts";
import { type PoolNameInWorkers, setWorkerRuntime, type WorkerRuntime } from "./worker-runtime.ts";

const client = new SyncChannelClient((workerData as { channel: SyncChannelWorkerEnd }).channel);
const runtime: WorkerRuntime = {
  client,
  nextId: 1,
  ids: new WeakMap(),
  watches: new Map(),
  mirroring: false,
  taskNodeId: 0,
  taskNode: null,
  taskTouched: false,
  refIds: new ShortIds(),
  nodeRefs: new WorkerNodeRefs((message) => client.post(message)),
  importing: null,
  pool: (workerData as { pool?: PoolNameInWorkers }).pool ?? null,
  taskNodes: new WeakSet(),
};
setWorkerRuntime(runtime);

// Loaded after the runtime exists: the public entry installs the bridge for this thread.
const { runTask, settleWatch, skipTask, tagFatalErrors } = await import("./worker-tasks.ts");
const { PromisingError } = await import("../index.ts");
tagFatalErrors(runtime);

// The source-mode bootstrap registered tsx already (worker-bootstrap.mjs).
let tsxRegistered =
  (globalThis as { [key: symbol]: unknown })[Symbol.for("promising-ts.tsx-registered")] === true;
/** One import per module: `import()` of a loaded module still runs the loader hooks (~350 µs with tsx). */
const modules = new Map<string, Promise<Record<string, unknown>>>();
/** The modules whose import has finished, for running their tasks without a turn of the event loop. */
const loadedModules = new Map<string, Record<string, unknown>>();

/** Imports a user module; TypeScript modules get tsx registered first (resolved from the module). */
function importUserModule(url: string): Record<string, unknown> | Promise<Record<string, unknown>> {
  const ready = loadedModules.get(url);
  if (ready !== undefined) return ready;
  let loading = modules.get(url);
  if (loading === undefined) {
    loading = loadUserModule(url);
    modules.set(url, loading);
    loading.then(
      (namespace) => loadedModules.set(url, namespace),
      () => {},
    );
  }
  return loading;
}

const TYPESCRIPT_FILE = /\.[mc]?tsx?$/;
/** Why registering tsx failed in this worker, until it succeeds (named if a TypeScript import then fails). */
let tsxFailure: unknown = null;

async function loadUserModule(url: string): Promise<Record<string, unknown>> {
  const typescript = TYPESCRIPT_FILE.test(url);
  if (!tsxRegistered && typescript) {
    try {
      const { register } = (await import(resolveTsxEsmApi(url))) as { register: () => unknown };
      register();
      tsxRegistered = true;
      tsxFailure = null;
    } catch (error) {
      // Maybe another loader is active (or Node strips types itself): the import below tells.
      tsxFailure = error;
    }
  }
  // Calls the module's top-level code makes meanwhile fail at once (threads/bridge.ts).
  runtime.importing = url;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (!typescript || tsxFailure === null) throw error;
    throw new PromisingError(
      `The pool worker could not import the TypeScript module ${url} (${describe(error)}), and registering ` +
        `tsx in the worker failed: ${describe(tsxFailure)}. Install tsx where that module can resolve it ` +
        "(npm install --save-dev tsx), or run the pool functions from JavaScript.",
      { cause: error },
    );
  } finally {
    runtime.importing = null;
  }
}

const describe = (value: unknown) => (value instanceof Error ? value.message : String(value));

/**
 * The URL of tsx's ESM API (`tsx/esm/api`, `import` condition) as the user's module resolves it.
 * `createRequire(url).resolve()` alone would pick the `require` condition: tsx's CommonJS build,
 * whose `register()` fails in an ES module context. Node 20 has no `import.meta.resolve` with a
 * parent, so the package is found with require and its exports map read for the import target.
 */
function resolveTsxEsmApi(fromUrl: string): string {
  const packageJsonPath = createRequire(fromUrl).resolve("tsx/package.json");
  const exportsMap = (
    JSON.parse(readFileSync(packageJsonPath, "utf8")) as { exports?: Record<string, unknown> }
  ).exports;
  const target = importTarget(exportsMap?.["./esm/api"]);
  if (target === undefined) {
    throw new Error(
      `${packageJsonPath} exports no "./esm/api" for import: a tsx version without register().`,
    );
  }
  return pathToFileURL(join(dirname(packageJsonPath), target)).href;
}

/** The file an exports-map entry names for an `import` from Node (conditions in their order). */
function importTarget(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return undefined;
  for (const [condition, value] of Object.entries(entry)) {
    if (condition !== "import" && condition !== "node" && condition !== "default") continue;
    const target = importTarget(value);
    if (target !== undefined) return target;
  }
  return undefined;
}

/** Claim slots shared with the pool (threads/task-claims.ts). */
const claims = new Int32Array((workerData as { claims: SharedArrayBuffer }).claims);
/** Function refs by the short id the main thread gives them in this worker. */
const refs = new ShortIdNames<FunctionRef>();
/** Tasks received and not yet run, in order; one loop runs them one at a time. */
const queue: TaskMessage[] = [];
let draining = false;

/**
 * How long an idle worker waits on shared memory for its next message before it goes back to
 * its event loop. Waking from `Atomics.wait` takes a few µs; waking the event loop for a message
 * takes 15 or more, which was half of a one-at-a-time pool call.
 */
const IDLE_WAIT_MS = 2;
/**
 * The longest the task loop keeps the event loop waiting (running tasks sent ahead, or waiting
 * for the next message), so that timers and I/O of the worker's own async work (a pool function
 * may return a promise) still run while tasks keep coming.
 */
const MAX_LOOP_HOLD_MS = 20;

const turnOfTheEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function drainTasks(): Promise<void> {
  draining = true;
  let heldSince = performance.now();
  try {
    for (;;) {
      for (let task = queue.shift(); task !== undefined; task = queue.shift()) {
        task.ref = refs.resolve(task.refId, task.ref);
        // Claimed just before it runs: until then the main thread may give it to another worker.
        if (!claimTask(claims, task.claim, task.taskId)) {
          skipTask(runtime, task);
          continue;
        }
        // Awaited even when it finished synchronously: microtasks (the worker's own promises) run between tasks.
        await runTask(runtime, task, importUserModule);
        if (performance.now() - heldSince > MAX_LOOP_HOLD_MS) {
          await turnOfTheEventLoop();
          heldSince = performance.now();
        }
      }
      if (performance.now() - heldSince > MAX_LOOP_HOLD_MS || !takeNextMessage()) return;
      // Let what that message settled (a watched promise's reactions) run before waiting again.
      await null;
    }
  } finally {
    draining = false;
  }
}

/** Waits briefly for the next message from the main thread and handles it; false if none came. */
function takeNextMessage(): boolean {
  const seen = postedCount(claims);
  let entry = receiveMessageOnPort(parentPort!);
  if (entry === undefined && waitForPosted(claims, seen, IDLE_WAIT_MS))
    entry = receiveMessageOnPort(parentPort!);
  if (entry === undefined) return false;
  onMessage(entry.message as MainToWorker);
  return true;
}

function onMessage(message: MainToWorker): void {
  if (message.type === "settled") settleWatch(runtime, message);
  else {
    queue.push(...message.tasks);
    if (!draining) void drainTasks();
  }
}

parentPort!.on("message", onMessage);
