// Piscina with default options apart from its size (THREADS workers, started at once):
// workers/piscina-worker.mjs runs the trivial task (default export) and fib ({ name: "fib" }).

import { runThreadCase } from "../lib/thread-tasks.ts";
import { piscinaSystem } from "./workers/piscina-system.ts";

void runThreadCase(() => piscinaSystem({}));
