// Piscina with `concurrentTasksPerWorker: 16`: up to 16 tasks in flight per worker, so the
// main thread does not wait for an answer before handing a worker its next task.

import { runThreadCase } from "../lib/thread-tasks.ts";
import { piscinaSystem } from "./workers/piscina-system.ts";

void runThreadCase(() => piscinaSystem({ concurrentTasksPerWorker: 16 }));
