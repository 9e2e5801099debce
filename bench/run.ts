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
];

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

/** Command-line arguments narrow the rows, e.g. `npm run bench -- promising native`. */
function keepRow(id: string, label: string, filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  const haystack = `${id} ${label}`.toLowerCase();
  return filters.some((f) => haystack.includes(f.toLowerCase()));
}

async function main(): Promise<void> {
  const node = process.env.BENCH_NODE || process.execPath;
  const info = nodeInfo(node);
  // Absolute loader URL, so cases resolve tsx from this repo whatever Node runs them.
  const loader = import.meta.resolve("tsx");
  const filters = process.argv.slice(2);
  const tables = TABLES.map((t) => ({ ...t, rows: t.rows.filter((r) => keepRow(r.id, r.label, filters)) }));
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
