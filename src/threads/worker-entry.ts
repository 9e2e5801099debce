/**
 * Entry point of a pool worker thread. It publishes the worker runtime on `globalThis`
 * before the library loads (so the library installs the worker bridge, and `fn.run()` at a
 * module's top level is a no-op here), then runs one task at a time.
 */
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import { SyncChannelClient, type SyncChannelWorkerEnd } from "./sync-channel.ts";
import { setWorkerRuntime, type WorkerRuntime } from "./worker-runtime.ts";

const runtime: WorkerRuntime = {
  client: new SyncChannelClient((workerData as { channel: SyncChannelWorkerEnd }).channel),
  nextId: 1,
  ids: new WeakMap(),
  watches: new Map(),
  mirroring: false,
  taskNodeId: 0,
};
setWorkerRuntime(runtime);

// Loaded after the runtime exists: the public entry installs the bridge for this thread.
const { runTask, settleWatch } = await import("./worker-tasks.ts");
await import("../index.ts");

// The source-mode bootstrap registered tsx already (worker-bootstrap.mjs).
let tsxRegistered =
  (globalThis as { [key: symbol]: unknown })[Symbol.for("promising-ts.tsx-registered")] === true;
/** One import per module: `import()` of a loaded module still runs the loader hooks (~350 µs with tsx). */
const modules = new Map<string, Promise<Record<string, unknown>>>();

/** Imports a user module; TypeScript modules get tsx registered first (resolved from the module). */
function importUserModule(url: string): Promise<Record<string, unknown>> {
  let loaded = modules.get(url);
  if (loaded === undefined) {
    loaded = loadUserModule(url);
    modules.set(url, loaded);
  }
  return loaded;
}

async function loadUserModule(url: string): Promise<Record<string, unknown>> {
  if (!tsxRegistered && /\.[mc]?tsx?$/.test(url)) {
    tsxRegistered = true;
    try {
      const api = createRequire(url).resolve("tsx/esm/api");
      const { register } = (await import(api)) as { register: () => void };
      register();
    } catch {
      // No tsx next to the module: maybe another loader is active; the import below will tell.
    }
  }
  return (await import(url)) as Record<string, unknown>;
}

parentPort!.on("message", (message: { type: string }) => {
  if (message.type === "settled") settleWatch(runtime, message as never);
  else void runTask(runtime, message as never, importUserModule);
});
