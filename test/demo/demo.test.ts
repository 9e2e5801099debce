// The demo (examples/demo.ts) run for real in a child process, and its keyword extractor
// (examples/demo/nlp.ts) called through a promising pool call.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { extractKeywords, warmUp } from "../../examples/demo/nlp.ts";
import * as promising from "../../src/index.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

const TEXT =
  "The old telescope stood in the observatory. Every night the telescope tracked a faint comet, " +
  "and the astronomers wrote about the comet and the telescope. Ada cleaned the telescope lens.";

describe("keyword extractor", () => {
  const pool = new promising.ThreadPool({ maxThreads: 1 });
  afterAll(() => pool.close());

  it("runs on a pool worker and ranks nouns by frequency", async () => {
    const promise = extractKeywords.with({ threadPool: pool })(TEXT, 5);
    expect(promise).toBeInstanceOf(promising.Promise);
    const result = await promise;
    expect(result.threadId).not.toBe(0); // a worker thread, not the main thread
    expect(result.keywords[0]).toEqual({ term: "telescope", count: 4 });
    const terms = result.keywords.map((k) => k.term);
    expect(terms).toContain("comet");
    expect(terms).not.toContain("the"); // stop words are dropped
    expect(terms).not.toContain("tracked"); // verbs are not candidates
    expect(result.keywords.length).toBeLessThanOrEqual(5);
  }, 30_000);

  it("gives the same keywords when called directly on the main thread", async () => {
    const [viaPool, direct] = [
      await extractKeywords.with({ threadPool: pool })(TEXT),
      extractKeywords.original(TEXT),
    ];
    expect(direct.threadId).toBe(0);
    expect(direct.keywords).toEqual(viaPool.keywords);
    expect(direct.words).toBe(viaPool.words);
  }, 30_000);

  it("warmUp loads the model once per worker", async () => {
    const first = await warmUp.with({ threadPool: pool })("A bright star.", 2);
    const second = await warmUp.with({ threadPool: pool })("A bright star.");
    expect(second.threadId).toBe(first.threadId); // a 1-thread pool
    expect(second.alreadyLoaded).toBe(true);
  }, 30_000);
});

describe("npm run demo", () => {
  it("runs the pipeline on 20 documents with 2 threads, prints the tree, keywords and speedup, and exits", async () => {
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "examples/demo.ts", "--docs", "20", "--threads", "2", "--no-progress"],
        { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      // A process kept alive by its workers would be killed here, and the test would fail.
      const killer = setTimeout(() => child.kill("SIGKILL"), 55_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(killer);
        resolve({ code, stdout, stderr });
      });
    });
    expect(stderr).toBe(""); // no progress bar with --no-progress, no unobserved failures
    expect(code).toBe(0);
    expect(stdout).toContain("Keyword pipeline over 20 documents");

    // The promise tree: the pipeline's documents, each with its read and its extraction.
    expect(stdout).toMatch(/^Promise\(main, pending\)/m);
    expect(stdout).toMatch(/─ Promise\(processDocument, fulfilled\) +[\d.]+ ms +\(doc-001\.txt\)/);
    expect(stdout).toMatch(/─ Promise\(readDocument, fulfilled\)/);
    expect(stdout).toMatch(/─ Promise\(extractKeywords, fulfilled\) .*on worker thread \d+/);
    expect(stdout).toMatch(/… 17 more: 17 × Promise\(processDocument, fulfilled\)/);

    // The top keywords section.
    const section = stdout.slice(stdout.indexOf("Top keywords overall"));
    const keywords = [...section.matchAll(/^ +\d+\. ([a-z'-]+) +\d+ +\d+ docs$/gm)].map((m) => m[1]);
    expect(keywords.length).toBeGreaterThanOrEqual(5);
    expect(stdout).toMatch(/Top keywords per theme:\n( {2}\w+ +\( *\d+ docs\): .+\n)+/);

    // Both timings and their ratio.
    expect(stdout).toMatch(/main thread only .*: +[\d.]+ ms/);
    expect(stdout).toMatch(/thread pool, 2 threads .*: +[\d.]+ ms/);
    expect(stdout).toMatch(/^Speedup: \d+\.\d+x with 2 pool threads/m);
  }, 60_000);
});
