// `npm run bench` (BENCH_NODE=/path/to/node to measure another Node; extra
// arguments keep only the systems whose id or label contains one of them).
//
// Every cell of every table runs in a fresh child process: on Node 20 the first
// AsyncLocalStorage.run() turns on promise hooks for the whole process, which
// would slow down every system measured after it. The children print one JSON
// line each (see lib/protocol.ts); this process only schedules them, one at a
// time (parallel runs would compete for the 2 cores), and prints markdown.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ASYNC_SIZES } from "./lib/async-tasks.ts";
import { DEFAULT_REPEAT } from "./lib/measure.ts";
import { describeError } from "./lib/protocol.ts";
import { runCaseProcess } from "./lib/spawn-case.ts";
import { largeStackArgs } from "./lib/stack.ts";
import { type Cell, cellKey, formatCount, renderTable, sizeFor, type TableSpec } from "./lib/table.ts";
import { CPU_TASKS, FIB_N, THREAD_SIZES, THREADS } from "./lib/thread-tasks.ts";

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(benchDir);

/** "4.1.0" for an installed package, "" when unknown: peers are labelled with the version measured. */
function installedVersion(pkg: string): string {
  try {
    const json = JSON.parse(readFileSync(join(repoRoot, "node_modules", pkg, "package.json"), "utf8"));
    return typeof json.version === "string" ? json.version : "";
  } catch {
    return "";
  }
}

const chainStack = largeStackArgs();

const TABLES: TableSpec[] = [
  {
    title: "Async children: time, heap and depth",
    rows: [
      { id: "native", label: "native async + Promise.all", file: "native.ts" },
      { id: "native-als", label: "native + ALS.run per child", file: "native-als.ts" },
      { id: "promising", label: "promising-ts", file: "promising.ts" },
      {
        id: "spec-floor",
        label: "SPEC floor model (not a library: cases/spec-floor.ts)",
        file: "spec-floor.ts",
      },
      {
        id: "effect",
        label: `Effect ${installedVersion("effect")} (forkChild + Fiber.join)`.replace("  ", " "),
        file: "effect.ts",
      },
      {
        id: "effection",
        label: `Effection ${installedVersion("effection")} (spawn + join)`.replace("  ", " "),
        file: "effection.ts",
        // Effection costs ~150-250 µs per spawned task and its chains grow
        // superlinearly (~3 ms per level at 16k levels): the default sizes would
        // take minutes per cell.
        sizes: { fanOut: 10_000, chain: 1_000, heap: 5_000 },
        skip: {
          deepChain:
            "a 16k-deep spawn/join chain already takes ~55 s (superlinear), 100k would take many minutes",
        },
      },
    ],
    columns: [
      {
        task: "fanOut",
        header: `fan-out ${formatCount(ASYNC_SIZES.fanOut)}: ns/child`,
        size: ASYNC_SIZES.fanOut,
        ratioTo: "native",
        timeoutMs: 90_000,
      },
      {
        task: "chain",
        header: `chain ${formatCount(ASYNC_SIZES.chain)}: ns/level`,
        size: ASYNC_SIZES.chain,
        ratioTo: "native",
        nodeArgs: chainStack,
        timeoutMs: 90_000,
      },
      {
        task: "heap",
        header: "heap: B/pending child",
        size: ASYNC_SIZES.heap,
        ratioTo: "native-als",
        timeoutMs: 90_000,
      },
      {
        task: "deepChain",
        header: `${formatCount(ASYNC_SIZES.deepChain)}-deep chain, default stack`,
        size: ASYNC_SIZES.deepChain,
        timeoutMs: 60_000,
      },
    ],
    notes: [
      `Times: median ns per child (fan-out: one parent creates all children, then awaits them all) or per level (chain: each level awaits the call of the next), of up to ${DEFAULT_REPEAT.reps} timed runs (at least ${DEFAULT_REPEAT.minReps}; fewer past a ${DEFAULT_REPEAT.budgetMs / 1000} s budget) after ${DEFAULT_REPEAT.warmup} warm-up runs, with a full GC before each run.`,
      `Chain processes run with ${chainStack.length > 0 ? `\`${chainStack.join(" ")}\`` : "the default stack (the OS stack limit could not back a larger one)"}: native and Effect recurse on the JS stack once per level, so 10k levels overflow V8's default limit for Effect (it overflows at about 2k) and sometimes for native.`,
      "Heap: bytes retained per child while all children wait on one shared unresolved promise (Effect: Deferred, Effection: withResolvers), from heapUsed after a full GC, before vs. while held; median of 3 after a small warm-up round.",
      `Deep chain: one ${formatCount(ASYNC_SIZES.deepChain)}-level chain on V8's default stack; "stack overflow" is a result, not a harness failure.`,
      "(n=…) marks a smaller size than the column's; its ratio compares per-child costs measured at different sizes.",
    ],
  },
  ...threadTables(),
];

/** The "worker threads" section: pools, blocking round trips and a CPU-bound batch. */
function threadTables(): TableSpec[] {
  const piscina = `Piscina ${installedVersion("piscina")}`.trim();
  const synckit = `synckit ${installedVersion("synckit")}`.trim();
  const tsxNote =
    'promising-ts rows: "sources under tsx" runs src/ and cases/pool-fns.ts, so every worker registers tsx first (the harness\'s `--import tsx` is inherited too); "built package" runs dist/ (built by `npm run bench`) and the same pool functions in plain JavaScript (cases/pool-fns.mjs), workers started with `execArgv: []`, as an application that ships JavaScript runs them. The bare and Piscina workers are plain .mjs files started without the harness\'s loader.';
  return [
    {
      title: `Worker threads: a trivial task (x + 1) on ${THREADS} threads`,
      rows: [
        { id: "bare", label: "bare worker_threads (postMessage echo)", file: "bare-threads.ts" },
        { id: "piscina", label: `${piscina} (defaults)`, file: "piscina.ts" },
        { id: "piscina-c16", label: `${piscina} (concurrentTasksPerWorker: 16)`, file: "piscina-c16.ts" },
        { id: "promising", label: "promising-ts ThreadPool (sources under tsx)", file: "promising-pool.ts" },
        {
          id: "promising-dist",
          label: "promising-ts ThreadPool (built package)",
          file: "promising-pool-dist.ts",
        },
      ],
      columns: [
        {
          task: "throughput",
          header: `throughput, ${formatCount(THREAD_SIZES.throughput)} at once: tasks/s`,
          size: THREAD_SIZES.throughput,
          show: "perSecond",
          ratioTo: "piscina",
          timeoutMs: 90_000,
        },
        {
          task: "latency",
          header: "latency, one at a time: µs/task",
          size: THREAD_SIZES.latency,
          show: "us",
          ratioTo: "bare",
          timeoutMs: 60_000,
        },
        {
          task: "coldStart",
          header: "cold start: ms to first result",
          size: THREAD_SIZES.coldStart,
          show: "ms",
          ratioTo: "bare",
          timeoutMs: 60_000,
        },
      ],
      notes: [
        `Every system runs ${THREADS} worker threads, all started when the pool is created (Piscina: \`minThreads = maxThreads = ${THREADS}\`, its other options at their defaults; promising-ts: \`new ThreadPool({ maxThreads: ${THREADS}, minThreads: ${THREADS} })\`). The task returns its argument + 1: bare workers answer each message from their \`message\` listener, Piscina runs the default export of a .mjs file, promising-ts the pool function \`plusOne\` of cases/pool-fns.ts.`,
        `Throughput: ${formatCount(THREAD_SIZES.throughput)} tasks submitted at once and awaited with \`Promise.all\`, tasks per second of the whole batch; median of 3 to 5 batches (a full GC before each), after the pool ran ${2_000 + 200 * THREADS} warm-up tasks. × piscina above 1 is faster than Piscina.`,
        `Latency: ${formatCount(THREAD_SIZES.latency)} tasks, each awaited before the next is submitted; the median of their round trips, after the same warm-up.`,
        "Cold start: in a fresh process, from creating the pool to the first task's result (workers start, load their code, run one task). One sample per run, so noisier than the other columns.",
        tsxNote,
      ],
    },
    {
      title: "Worker threads: one blocking round trip",
      rows: [
        { id: "bare", label: "bare Atomics.wait + receiveMessageOnPort", file: "bare-threads.ts" },
        { id: "sync-channel", label: "promising-ts internal channel, sync handler", file: "sync-channel.ts" },
        {
          id: "sync-channel-async",
          label: "promising-ts internal channel, async handler",
          file: "sync-channel-async.ts",
        },
        { id: "synckit", label: `${synckit} createSyncFn (main thread blocks)`, file: "synckit.ts" },
        {
          id: "promising",
          label: "promising-ts: asyncIdentity(i).sync() in a pool function (sources under tsx)",
          file: "promising-pool.ts",
        },
        {
          id: "promising-dist",
          label: "promising-ts: asyncIdentity(i).sync() in a pool function (built package)",
          file: "promising-pool-dist.ts",
        },
      ],
      columns: [
        {
          task: "roundTrip",
          header: "µs/round trip",
          size: THREAD_SIZES.roundTrip,
          show: "us",
          ratioTo: "bare",
          timeoutMs: 60_000,
        },
      ],
      notes: [
        `The systems of cases/sync-roundtrip.ts (run it directly for an interleaved comparison of the same systems in one process). One thread blocks ${formatCount(THREAD_SIZES.roundTrip)} times in a row on a small integer that another thread echoes, and times itself; median of 3 to 5 such runs after one untimed run. In every row but synckit a worker blocks and the main thread answers on its event loop; synckit is the mirror image (the main thread blocks, an async function in its worker answers).`,
        "promising-ts row: the public API end to end. A pool function calls `asyncIdentity(i).sync()` in a loop (asyncIdentity is an async promising function): each call posts the creation of a child promise on the main thread, then blocks until the main thread has run it. The internal-channel rows show the channel alone (the pool answers with an async handler).",
      ],
    },
    {
      title: `Worker threads: CPU-bound, ${CPU_TASKS} × fib(${FIB_N})`,
      rows: [
        { id: "main", label: "main thread alone", file: "main-thread.ts" },
        {
          id: "promising",
          label: `promising-ts ThreadPool (${THREADS} threads, sources under tsx)`,
          file: "promising-pool.ts",
        },
        {
          id: "promising-dist",
          label: `promising-ts ThreadPool (${THREADS} threads, built package)`,
          file: "promising-pool-dist.ts",
        },
        { id: "piscina", label: `${piscina} (${THREADS} threads, defaults)`, file: "piscina.ts" },
      ],
      columns: [
        {
          task: "cpuWarm",
          header: "warm: ms",
          size: THREAD_SIZES.cpuWarm,
          show: "ms",
          ratioTo: "main",
          ratio: "speedup",
          timeoutMs: 60_000,
        },
        {
          task: "cpuCold",
          header: "cold: ms",
          size: THREAD_SIZES.cpuCold,
          show: "ms",
          ratioTo: "main",
          ratio: "speedup",
          timeoutMs: 60_000,
        },
      ],
      notes: [
        `${CPU_TASKS} recursive fib(${FIB_N}) calls (the same function, workers/fib.mjs, in every row), submitted at once and awaited together; on the main thread one after the other. ${THREADS} threads can at best halve the time on an idle machine with ${THREADS} free cores.`,
        "Warm: the pool has started and run the whole batch once; median of 3 to 5 batches. Cold: a fresh process creates the pool and runs the batch once, and the time includes starting the workers (for the main thread: the batch with nothing compiled yet).",
        tsxNote,
      ],
    },
  ];
}

interface NodeInfo {
  version: string;
  v8: string;
  platform: string;
  arch: string;
}

function nodeInfo(node: string): NodeInfo {
  const script =
    "console.log(JSON.stringify({version:process.version,v8:process.versions.v8,platform:process.platform,arch:process.arch}))";
  const out = spawnSync(node, ["-e", script], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`cannot run ${node}: ${out.error?.message ?? out.stderr}`);
  return JSON.parse(out.stdout) as NodeInfo;
}

/**
 * Command-line arguments narrow the rows, e.g. `npm run bench -- promising native`; a word
 * found in a table's title keeps all of its rows (`npm run bench -- threads`).
 */
function keepRow(title: string, id: string, label: string, filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  const haystack = `${title} ${id} ${label}`.toLowerCase();
  return filters.some((f) => haystack.includes(f.toLowerCase()));
}

async function main(): Promise<void> {
  const node = process.env.BENCH_NODE || process.execPath;
  const info = nodeInfo(node);
  // Absolute loader URL, so cases resolve tsx from this repo whatever Node runs them.
  const loader = import.meta.resolve("tsx");
  const filters = process.argv.slice(2);
  const tables = TABLES.map((t) => ({
    ...t,
    rows: t.rows.filter((r) => keepRow(t.title, r.id, r.label, filters)),
  })).filter((t) => t.rows.length > 0);
  const total = tables.reduce((n, t) => n + t.rows.length * t.columns.length, 0);
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  let done = 0;

  const sections: string[] = [];
  for (const table of tables) {
    const cells = new Map<string, Cell>();
    for (const row of table.rows) {
      for (const column of table.columns) {
        done++;
        const reason = row.skip?.[column.task];
        if (reason !== undefined) {
          cells.set(cellKey(row, column), { kind: "skipped", reason });
          continue;
        }
        const t0 = performance.now();
        process.stderr.write(`[${done}/${total}] ${row.label}: ${column.task} ... `);
        const result = await runCaseProcess({
          node,
          loader,
          file: join(benchDir, "cases", row.file),
          task: column.task,
          size: sizeFor(row, column) === column.size ? undefined : sizeFor(row, column),
          nodeArgs: column.nodeArgs,
          timeoutMs: column.timeoutMs,
          cwd: repoRoot,
        });
        cells.set(cellKey(row, column), result);
        const summary = result.kind === "error" ? `error: ${result.message}` : "ok";
        process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(1)} s, ${summary}\n`);
      }
    }
    sections.push(renderTable(table, cells));
  }

  const cpu = cpus();
  const elapsed = ((performance.now() - started) / 1000).toFixed(0);
  // Other work on the machine skews every timing; say so next to the numbers.
  const busy =
    loadAtStart > cpu.length / 2
      ? ` Load average was ${loadAtStart.toFixed(1)} at the start: other processes competed for the CPUs, so times are noisy.`
      : "";
  console.log(
    [
      `## promising-ts benchmarks: Node ${info.version}`,
      "",
      `Node ${info.version} (V8 ${info.v8}), ${info.platform} ${info.arch}, ${cpu[0]?.model.trim() ?? "unknown CPU"} (${cpu.length} cores), ${new Date().toISOString().slice(0, 10)}, ${elapsed} s in total. Every cell ran in its own process.${busy}`,
      "",
      sections.join("\n\n"),
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error(`bench: ${describeError(error)}`);
  process.exitCode = 1;
});
