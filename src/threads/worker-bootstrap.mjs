// Pool worker bootstrap when promising-ts runs from its TypeScript sources (tests, tsx):
// register tsx in this thread, then load the real entry. The built package loads
// dist/worker.js directly instead.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
globalThis[Symbol.for("promising-ts.tsx-registered")] = true;
await import(workerData.entry);
