// The bare worker_threads row of the "worker threads" benchmarks: the least a pool worker can
// do. Each message is a number x, answered with x + 1 on the same port; the main thread keeps
// the callers of each worker in order, so no id travels with the payload.
import { parentPort } from "node:worker_threads";

parentPort.on("message", (x) => parentPort.postMessage(x + 1));
