// synckit's createSyncFn (the main thread blocks, a worker answers with an async function):
// the "synckit" system of sync-roundtrip.ts.

import { runThreadCase } from "../lib/thread-tasks.ts";
import { ROUND_TRIP_SYSTEMS } from "./sync-roundtrip.ts";

void runThreadCase(() => ({ blocking: ROUND_TRIP_SYSTEMS.synckit! }));
