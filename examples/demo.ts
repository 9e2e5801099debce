/**
 * `npm run demo`: a keyword pipeline over the corpus in examples/corpus/docs.
 *
 * For every document, `processDocument(file)` reads it (async, on the event loop) and extracts its
 * keywords with wink-nlp on a worker thread (`extractKeywords`, a pool function in
 * examples/demo/nlp.ts). The results are aggregated overall and per theme; then the demo prints
 * the promise tree the run built, the top keywords, and the time the same extraction takes on the
 * main thread alone, to show what the pool gave.
 *
 *   npm run demo -- [--docs N] [--threads N] [--no-progress]
 */
import { readdir, readFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import * as promising from "../src/index.ts";
import { type Extraction, extractKeywords, type Keyword, warmUp } from "./demo/nlp.ts";

const CORPUS_DIR = fileURLToPath(new URL("./corpus/docs/", import.meta.url));
const KEYWORDS_PER_DOCUMENT = 10;
/** Direct children shown per node of the printed tree; the rest are summarized. */
const TREE_CHILDREN_SHOWN = 3;
/** Warm-up text (mixed themes); each thread extracts from it WARM_UP_ROUNDS times before timing. */
const WARM_UP_SAMPLE =
  "The bright telescope tracked a distant galaxy above the old observatory. Marta seasoned the creamy " +
  "soup in Naples while the bread rested in the oven. The captain steered the boat into the harbor as " +
  "the wind grew rough. Our compiler was slow until we refactored the recursive parser and the cache. " +
  "The gardeners of Kew planted fragrant roses beside the greenhouse in early spring. Nobody expected " +
  "the comet to be so faint, but Jonas photographed it before midnight.";
const WARM_UP_ROUNDS = 200;
/** Files read at once: later documents are still being read while the first ones are extracted. */
const READS_AT_ONCE = 8;

// ---------------------------------------------------------------------------------------------
// Options

interface DemoOptions {
  docs: number | undefined;
  threads: number;
  progress: boolean;
}

function parseOptions(argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      docs: { type: "string" },
      threads: { type: "string" },
      "no-progress": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: npm run demo -- [--docs N] [--threads N] [--no-progress]");
    process.exit(0);
  }
  const count = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new TypeError(`--${name} must be a positive integer; got ${value}`);
    return n;
  };
  return {
    docs: count("docs", values.docs),
    threads: count("threads", values.threads) ?? availableParallelism(),
    progress: !values["no-progress"] && process.stdout.isTTY === true,
  };
}

// ---------------------------------------------------------------------------------------------
// Timing: the demo's own record of when each promise (or context) it cares about ran.

interface Timing {
  start: number;
  end?: number;
  note?: string;
}

/**
 * Also what keeps the printed promises reachable: a parent holds its finished children only weakly
 * (and at most 1000 of them), so the tree shows the finished nodes that something else references.
 */
const timings = new Map<promising.PromisingContext, Timing>();

/** Starts the timing of `node` (by default the promise running this code). */
function startTiming(node: promising.PromisingContext = promising.getActivePromise(), note?: string): Timing {
  const timing: Timing = { start: performance.now(), note };
  timings.set(node, timing);
  return timing;
}

/** Times a promise from the caller's side (pool functions run on other threads). */
async function trackPoolCall<T>(promise: promising.Promise<T>): Promise<T> {
  const timing = startTiming(promise);
  try {
    return await promise;
  } finally {
    timing.end = performance.now();
  }
}

/** Times an async block as the active promise's own work. */
async function timed<T>(note: string | undefined, body: () => Promise<T>): Promise<T> {
  const timing = startTiming(undefined, note);
  try {
    return await body();
  } finally {
    timing.end = performance.now();
  }
}

// ---------------------------------------------------------------------------------------------
// The pipeline

interface Document {
  file: string;
  title: string;
  theme: string;
  text: string;
}

interface DocumentResult extends Omit<Document, "text">, Omit<Extraction, "threadId"> {}

/** A minimal counting semaphore. */
class Limit {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(slots: number) {
    this.#free = slots;
  }
  async run<T>(body: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await body();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

const reads = new Limit(READS_AT_ONCE);

/** Reads one corpus file and splits off its `Title:` / `Theme:` header. Plain async code. */
async function loadDocument(file: string): Promise<Document> {
  const raw = await reads.run(() => readFile(`${CORPUS_DIR}${file}`, "utf8"));
  const header = raw.slice(0, raw.indexOf("\n\n"));
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(header)?.[1] ?? "";
  return { file, title: field("Title"), theme: field("Theme") || "unknown", text: raw.slice(header.length) };
}

const readDocument = promising.function(async function readDocument(file: string) {
  return timed(file, () => loadDocument(file));
});

const processDocument = promising.function(async function processDocument(file: string) {
  return timed(file, async (): Promise<DocumentResult> => {
    const doc = await readDocument(file);
    // A child of this promise, run on a worker of the pool this subtree inherits.
    const extraction = extractKeywords(`${doc.title}.\n${doc.text}`, KEYWORDS_PER_DOCUMENT);
    const { keywords, words, candidates, threadId, ms: ranMs } = await trackPoolCall(extraction);
    timings.get(extraction)!.note = `ran ${ms(ranMs)} on worker thread ${threadId}`;
    return { file, title: doc.title, theme: doc.theme, keywords, words, candidates, ms: ranMs };
  });
});

/** Term totals over many documents: occurrences, and in how many documents a term is a keyword. */
class Tally {
  readonly counts = new Map<string, { count: number; docs: number }>();
  documents = 0;

  add(keywords: Keyword[]): void {
    this.documents++;
    for (const { term, count } of keywords) {
      const entry = this.counts.get(term) ?? { count: 0, docs: 0 };
      entry.count += count;
      entry.docs++;
      this.counts.set(term, entry);
    }
  }

  top(n: number): [string, { count: number; docs: number }][] {
    return [...this.counts].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1)).slice(0, n);
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

function describe(node: promising.PromisingContext): string {
  const timing = timings.get(node);
  if (timing === undefined) return String(node);
  const duration = timing.end === undefined ? "running" : ms(timing.end - timing.start);
  return `${node}  ${duration}${timing.note ? `  (${timing.note})` : ""}`;
}

/** The tree below `node`, from the library's own view of the hierarchy, a few children per level. */
function printTree(node: promising.PromisingContext, indent = ""): void {
  const children = [
    ...node.collectRemainingChildren({ recursively: false, excludeDone: false, excludeNonAwaitable: false }),
  ].sort((a, b) => (timings.get(a)?.start ?? Infinity) - (timings.get(b)?.start ?? Infinity));
  const shown = children.slice(0, TREE_CHILDREN_SHOWN);
  const hidden = children.slice(TREE_CHILDREN_SHOWN);
  shown.forEach((child, index) => {
    const last = index === shown.length - 1 && hidden.length === 0;
    console.log(`${indent}${last ? "└─ " : "├─ "}${describe(child)}`);
    printTree(child, `${indent}${last ? "   " : "│  "}`);
  });
  if (hidden.length > 0) {
    const states = new Map<string, number>();
    for (const child of hidden) states.set(String(child), (states.get(String(child)) ?? 0) + 1);
    const summary = [...states].map(([what, n]) => `${n} × ${what}`).join(", ");
    console.log(`${indent}└─ … ${hidden.length} more: ${summary}`);
  }
}

function formatTop(entries: [string, { count: number; docs: number }][]): string {
  return entries.map(([term]) => term).join(", ");
}

// ---------------------------------------------------------------------------------------------
// Main

const main = promising.function(async function main(options: DemoOptions) {
  const root = promising.getActivePromise();
  startTiming(root, "the root; still running while it prints this tree");
  const files = (await readdir(CORPUS_DIR))
    .filter((name) => name.endsWith(".txt"))
    .sort()
    .slice(0, options.docs);
  console.log(
    `Keyword pipeline over ${files.length} documents of examples/corpus, ${options.threads} threads.`,
  );

  // Pool functions below this point inherit this pool through the contexts they run in.
  const pool = new promising.ThreadPool({ maxThreads: options.threads, minThreads: options.threads });
  try {
    // 1. Warm-up, so that the comparison below measures extraction and not start-up: the pool
    //    starts its workers at once (minThreads), each loads the wink model and runs the
    //    extraction WARM_UP_ROUNDS times (so the JIT has compiled it); the main thread does the
    //    same (warmUp.original) for the direct run.
    const warm = await promising.context({ namespace: "warm-up", threadPool: pool }).run(async (ctx) => {
      const timing = startTiming(ctx, `${options.threads} workers`);
      const calls = Array.from({ length: options.threads }, () => warmUp(WARM_UP_SAMPLE, WARM_UP_ROUNDS));
      const results = await Promise.all(calls.map((call) => trackPoolCall(call)));
      for (const [index, call] of calls.entries()) {
        const { threadId, modelLoadMs, extractMs } = results[index]!;
        timings.get(call)!.note =
          `worker thread ${threadId}: model ${ms(modelLoadMs)}, ${WARM_UP_ROUNDS} extractions ${ms(extractMs)}`;
      }
      timing.end = performance.now();
      return results;
    });
    const mainWarm = warmUp.original(WARM_UP_SAMPLE, WARM_UP_ROUNDS);
    const workers = new Set(warm.map((w) => w.threadId));
    console.log(
      `Warm-up: ${pool.threads} workers started at once (minThreads=${options.threads}); the wink model ` +
        `loaded and ${WARM_UP_ROUNDS} sample extractions run on ${workers.size} distinct workers and on the ` +
        `main thread (model ${ms(mainWarm.modelLoadMs)}, extractions ${ms(mainWarm.extractMs)}).`,
    );

    // 2. The pipeline: one processDocument promise per document, under a "pipeline" context.
    const bar = options.progress
      ? new cliProgress.SingleBar(
          { stream: process.stderr, format: "documents [{bar}] {value}/{total} | {duration_formatted}" },
          cliProgress.Presets.shades_classic,
        )
      : null;
    bar?.start(files.length, 0);
    const tick = () => bar?.increment();
    const pipelineStart = performance.now();
    const results = await promising
      .context({ namespace: "pipeline", threadPool: pool })
      .run(async (ctx) => {
        const timing = startTiming(ctx, `${files.length} documents`);
        const documents = files.map((file) => {
          const promise = processDocument(file);
          promise.then(tick, tick);
          return promise;
        });
        const done = await Promise.all(documents);
        timing.end = performance.now();
        return done;
      })
      .finally(() => bar?.stop());
    const poolMs = performance.now() - pipelineStart;

    // 3. The same documents, read the same way, with the same extractor called directly
    //    (extractKeywords.original) on the main thread: no pool, no promising promises.
    const directStart = performance.now();
    const documents = await Promise.all(files.map(loadDocument));
    let directWords = 0;
    let directExtractMs = 0;
    for (const doc of documents) {
      const extraction = extractKeywords.original(`${doc.title}.\n${doc.text}`, KEYWORDS_PER_DOCUMENT);
      directWords += extraction.words;
      directExtractMs += extraction.ms;
    }
    const directMs = performance.now() - directStart;

    // Aggregation.
    const overall = new Tally();
    const perTheme = new Map<string, Tally>();
    let words = 0;
    let candidates = 0;
    let workerExtractMs = 0;
    for (const result of results) {
      overall.add(result.keywords);
      if (!perTheme.has(result.theme)) perTheme.set(result.theme, new Tally());
      perTheme.get(result.theme)!.add(result.keywords);
      words += result.words;
      candidates += result.candidates;
      workerExtractMs += result.ms;
    }
    if (directWords !== words) throw new Error(`direct run saw ${directWords} words, the pool ${words}`);

    console.log(`\nPromise tree (namespaces, states, durations; ${TREE_CHILDREN_SHOWN} children per level):`);
    console.log(describe(root));
    printTree(root);

    console.log(
      `\nTop keywords overall (${results.length} documents, ${words} words, ${candidates} candidates; ` +
        `term: occurrences in per-document top ${KEYWORDS_PER_DOCUMENT}, documents):`,
    );
    overall.top(15).forEach(([term, { count, docs }], index) => {
      console.log(
        `${String(index + 1).padStart(4)}. ${term.padEnd(14)} ${String(count).padStart(5)}  ${docs} docs`,
      );
    });
    console.log("\nTop keywords per theme:");
    for (const [theme, tally] of [...perTheme].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      console.log(
        `  ${theme.padEnd(12)} (${String(tally.documents).padStart(3)} docs): ${formatTop(tally.top(8))}`,
      );
    }

    console.log(
      `\nTimings for ${files.length} documents (read + extract each; the pool was warmed first: ` +
        `${options.threads} workers started with minThreads, each loaded the model and ran ${WARM_UP_ROUNDS} ` +
        "sample extractions, as did the main thread):",
    );
    console.log(
      `  main thread only (extractKeywords.original, direct calls): ${ms(directMs).padStart(8)}` +
        `  (extraction itself ${ms(directExtractMs)})`,
    );
    console.log(
      `  thread pool, ${options.threads} threads (processDocument promises):  ${ms(poolMs).padStart(8)}` +
        `  (extraction itself ${ms(workerExtractMs)} summed over the workers)`,
    );
    const utilization = workerExtractMs / (options.threads * poolMs);
    console.log(
      `  pool workers were busy extracting ${(100 * utilization).toFixed(0)}% of the pool run's wall time ` +
        "(the rest: reading on the main thread, handing tasks over and results back, waiting for a CPU)",
    );
    const [load] = loadavg();
    console.log(
      `Speedup: ${(directMs / poolMs).toFixed(2)}x with ${options.threads} pool threads ` +
        `(${availableParallelism()} cores, 1-minute load average ${load!.toFixed(1)} at the end of the run).`,
    );
    return results.length;
  } finally {
    await pool.close();
  }
});

await main.run(parseOptions(process.argv.slice(2)));
