/**
 * Installs the thread bridge into the core (see core/thread-contract.ts).
 */
import { installThreadBridge } from "../core/thread-contract.ts";
import { ThreadPool } from "./pool.ts";

installThreadBridge({
  isThreadPool: (value: unknown): value is ThreadPool => value instanceof ThreadPool,
  createDefaultPool: () => new ThreadPool(),
  isBlockingAllowed: () => false,
  blockOn() {
    throw new Error("promising-ts: blocking from worker threads is not available yet.");
  },
  awaitChildrenSync() {
    throw new Error("promising-ts: blocking from worker threads is not available yet.");
  },
  runOnPool() {
    return Promise.reject(new Error("promising-ts: useThreadPool: true is not available yet."));
  },
  isPoolWorker: () => false,
});
