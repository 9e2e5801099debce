// The library's internal blocking channel (src/threads/sync-channel.ts) on its own, with a
// synchronous handler: the "sync-channel" system of sync-roundtrip.ts.

import { runThreadCase } from "../lib/thread-tasks.ts";
import { ROUND_TRIP_SYSTEMS } from "./sync-roundtrip.ts";

void runThreadCase(() => ({ blocking: ROUND_TRIP_SYSTEMS["sync-channel"]! }));
