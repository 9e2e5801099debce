// Latency of one blocking round trip between a worker thread and the thread that answers it:
//   node --import tsx bench/cases/sync-roundtrip.ts [system ...]
//
// Prints one JSON line per system, once every system has been measured:
//   {"system":"bare","usPerRoundTrip":5.1,"vsBare":1,"minUs":4.9,"runsUs":[...],"roundTrips":10000}
// usPerRoundTrip is the median of RUNS (5) runs of ROUND_TRIPS (10 000) round trips
// each, after WARMUP round trips; runsUs holds every run's µs per round trip and
// minUs the fastest; vsBare is usPerRoundTrip / bare's (null when bare is not measured). The runs of the
// systems are interleaved (run 1 of each system, then run 2 of each, ...), so a
// burst of load on a shared machine hits every system alike. Arguments keep only
// the systems whose name contains one of them.
//
// `npm run bench` measures the same systems (ROUND_TRIP_SYSTEMS below), one fresh
// process each, through the case files bare-threads.ts, sync-channel.ts,
// sync-channel-async.ts, synckit.ts and promising-pool.ts; run this file directly
// for the interleaved comparison.
//
// Systems (the payload is a small integer, echoed back):
//   bare                the minimum: the worker posts, Atomics.wait's on a counter and
//                       reads the answer with receiveMessageOnPort; the main thread
//                       answers from its `message` listener, bumps the counter, notifies.
//   sync-channel        src/threads/sync-channel.ts with a synchronous handler.
//   sync-channel-async  the same with an async handler (one promise per answer).
//   promising-sync      the public API: a pool function (cases/pool-fns.ts) that calls
//                       `asyncIdentity(i).sync()` in a loop, asyncIdentity being an async
//                       promising function; each call creates a child promise on the main
//                       thread, which the worker then blocks on. Timed inside the worker.
//   promising-sync-dist the same from the built package (dist/, cases/pool-fns.mjs), workers
//                       started without tsx.
//   synckit@<version>   synckit's createSyncFn. There the *main* thread blocks and the
//                       worker answers with an async function: the mirror image.
//
// This file is also the worker script of bare and sync-channel (see the bottom);
// synckit's worker is a two-line .mjs file written to a temporary directory.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  Worker,
  workerData,
} from "node:worker_threads";
import type { SyncChannelWorkerEnd } from "../../src/threads/sync-channel.ts";

// The library's modules are imported where a system needs them, not here: bare and synckit
// must measure (and their cells fill in) even while src/ does not load.
const loadSyncChannel = () => import("../../src/threads/sync-channel.ts");

/** Overridable for exploration: SYNC_ROUNDTRIP_RUNS, SYNC_ROUNDTRIP_TRIPS. */
const WARMUP = 5_000;
const RUNS = positiveInteger(process.env.SYNC_ROUNDTRIP_RUNS) ?? 5;
const ROUND_TRIPS = positiveInteger(process.env.SYNC_ROUNDTRIP_TRIPS) ?? 10_000;

function positiveInteger(text: string | undefined): number | undefined {
  const value = Number(text);
  return text !== undefined && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

const ROLE = "syncRoundtripRole";

/** One system under test: `batch(n)` makes n round trips and resolves with µs per round trip. */
export interface Runner {
  batch(count: number): Promise<number>;
  close(): Promise<void>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const round = (value: number): number => Number(value.toFixed(3));

/** Makes `count` round trips; µs per round trip. */
function timeBatch(count: number, roundTrip: (i: number) => unknown): number {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const answer = roundTrip(i);
    if (answer !== i) throw new Error(`wrong answer at round trip ${i}: ${String(answer)}`);
  }
  return ((performance.now() - start) * 1000) / count;
}

// ---------------------------------------------------------------------------
// Worker side of bare and sync-channel: the thread that blocks.

function bareRoundTrip(port: MessagePort, state: SharedArrayBuffer): (i: number) => unknown {
  const view = new Int32Array(state);
  return (i) => {
    const seen = Atomics.load(view, 0);
    port.postMessage(i);
    // A loop, not a single wait: Atomics.wait sometimes returns "ok" although nobody
    // notified this counter (seen on Node 20 about once in a few 100 000 waits).
    do Atomics.wait(view, 0, seen);
    while (Atomics.load(view, 0) === seen);
    return receiveMessageOnPort(port)?.message;
  };
}

async function channelRoundTrip(end: SyncChannelWorkerEnd): Promise<(i: number) => unknown> {
  const { SyncChannelClient } = await loadSyncChannel();
  const client = new SyncChannelClient(end);
  return (i) => client.request(i);
}

function runWorker(roundTrip: (i: number) => unknown): void {
  parentPort!.on("message", (count: number) => parentPort!.postMessage(timeBatch(count, roundTrip)));
}

// ---------------------------------------------------------------------------
// Main thread

/**
 * Entry of the bare and sync-channel workers: Node 20 does not apply an inherited
 * `--import tsx` to a worker's .ts entry, so the worker registers tsx itself and
 * then imports this file.
 */
function workerEntry(): URL {
  const source = [
    `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};`,
    "register();",
    `await import(${JSON.stringify(import.meta.url)});`,
  ].join("\n");
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/** A worker that blocks and times itself while this thread answers (`stop` ends the answering). */
function blockingWorker(
  data: Record<string, unknown>,
  transferList: MessagePort[],
  stop: () => void,
): Runner {
  const worker = new Worker(workerEntry(), { workerData: data, transferList });
  let failure: Error | undefined;
  worker.once("error", (error) => (failure = error));
  return {
    batch(count) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        worker.once("error", onError);
        worker.once("message", (us: number) => {
          worker.off("error", onError);
          resolve(us);
        });
        worker.postMessage(count);
      });
    },
    async close() {
      stop();
      await worker.terminate();
    },
  };
}

/** Threads of the promising-sync system's pool: the same as every pool in the benchmarks. */
const POOL_THREADS = 2;

export const ROUND_TRIP_SYSTEMS: Record<string, () => Promise<Runner>> = {
  async bare() {
    const { port1, port2 } = new MessageChannel();
    const state = new SharedArrayBuffer(4);
    const view = new Int32Array(state);
    port1.on("message", (value) => {
      port1.postMessage(value);
      Atomics.add(view, 0, 1);
      Atomics.notify(view, 0);
    });
    port1.unref();
    return blockingWorker({ [ROLE]: "bare", port: port2, state }, [port2], () => port1.close());
  },
  async "sync-channel"() {
    const { createSyncChannel, serveSyncChannel } = await loadSyncChannel();
    const channel = createSyncChannel();
    const server = serveSyncChannel(channel.mainEnd, (value) => value);
    return blockingWorker({ [ROLE]: "channel", end: channel.workerEnd }, channel.transferList, server.close);
  },
  async "sync-channel-async"() {
    const { createSyncChannel, serveSyncChannel } = await loadSyncChannel();
    const channel = createSyncChannel();
    const server = serveSyncChannel(channel.mainEnd, async (value) => value);
    return blockingWorker({ [ROLE]: "channel", end: channel.workerEnd }, channel.transferList, server.close);
  },
  async "promising-sync"() {
    const promising = await import("../../src/index.ts");
    const { syncRoundTrips } = await import("./pool-fns.ts");
    // One worker blocks at a time; the second one only exists for parity with the other tables.
    const pool = new promising.ThreadPool({ maxThreads: POOL_THREADS });
    const run = syncRoundTrips.with({ threadPool: pool });
    return {
      batch: (count) => run(count),
      close: () => pool.close(),
    };
  },
  async "promising-sync-dist"() {
    // @ts-expect-error: dist/ is built by `npm run bench` before the cases run.
    const promising = (await import("../../dist/index.js")) as typeof import("../../src/index.ts");
    // @ts-expect-error: plain JavaScript, typed by use below.
    const { syncRoundTrips } = (await import("./pool-fns.mjs")) as typeof import("./pool-fns.ts");
    const pool = new promising.ThreadPool({ maxThreads: POOL_THREADS, execArgv: [] });
    const run = syncRoundTrips.with({ threadPool: pool });
    return {
      batch: (count) => run(count),
      close: () => pool.close(),
    };
  },
  async synckit() {
    const { createSyncFn } = await import("synckit");
    // synckit wants a worker file path; a plain .mjs one avoids its TypeScript-runner setup.
    const dir = mkdtempSync(join(tmpdir(), "sync-roundtrip-"));
    const workerFile = join(dir, "synckit-worker.mjs");
    writeFileSync(
      workerFile,
      `import { runAsWorker } from ${JSON.stringify(import.meta.resolve("synckit"))};\n` +
        "runAsWorker(async (value) => value);\n",
    );
    const echo = createSyncFn<(value: number) => Promise<number>>(workerFile);
    return {
      batch: async (count) => timeBatch(count, echo),
      // synckit keeps its (unref'd) worker for the life of the process.
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

export function packageVersion(name: string): string {
  try {
    const entry = createRequire(import.meta.url).resolve(name);
    const root = entry.slice(0, entry.lastIndexOf(`node_modules/${name}/`) + `node_modules/${name}/`.length);
    return JSON.parse(readFileSync(`${root}package.json`, "utf8")).version;
  } catch {
    return "";
  }
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const names = Object.keys(ROUND_TRIP_SYSTEMS).filter(
    (name) => filters.length === 0 || filters.some((filter) => name.includes(filter)),
  );
  const runners = new Map<string, Runner>();
  const runs = new Map<string, number[]>();
  try {
    for (const name of names) {
      // A system that cannot start (e.g. promising-sync while src/ does not load) gets an
      // error line; the others are still measured.
      try {
        const runner = await ROUND_TRIP_SYSTEMS[name]!();
        runners.set(name, runner);
        await runner.batch(WARMUP);
        runs.set(name, []);
      } catch (error) {
        console.log(JSON.stringify({ system: name, error: String(error).split("\n")[0] }));
      }
    }
    for (let run = 0; run < RUNS; run++) {
      for (const [name, samples] of runs) samples.push(await runners.get(name)!.batch(ROUND_TRIPS));
    }
  } finally {
    for (const runner of runners.values()) await runner.close();
  }
  const bare = runs.has("bare") ? median(runs.get("bare")!) : undefined;
  for (const name of runs.keys()) {
    const us = median(runs.get(name)!);
    const line = {
      system: name === "synckit" ? `synckit@${packageVersion("synckit")}` : name,
      usPerRoundTrip: round(us),
      vsBare: bare === undefined ? null : round(us / bare),
      minUs: round(Math.min(...runs.get(name)!)),
      runsUs: runs.get(name)!.map(round),
      roundTrips: ROUND_TRIPS,
    };
    console.log(JSON.stringify(line));
  }
}

/** Run directly (not imported by a case file of `npm run bench`). */
const isEntry = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (isMainThread && isEntry) {
  await main();
  // synckit's worker is unref'd and nothing else is pending, but be explicit.
  process.exit(0);
} else if (workerData?.[ROLE] === "bare") {
  runWorker(bareRoundTrip(workerData.port, workerData.state));
} else if (workerData?.[ROLE] === "channel") {
  runWorker(await channelRoundTrip(workerData.end));
}
