// The library's internal blocking channel with an async handler (one promise per answer, as
// the pool's own handler): the "sync-channel-async" system of sync-roundtrip.ts.

import { runThreadCase } from "../lib/thread-tasks.ts";
import { ROUND_TRIP_SYSTEMS } from "./sync-roundtrip.ts";

void runThreadCase(() => ({ blocking: ROUND_TRIP_SYSTEMS["sync-channel-async"]! }));
