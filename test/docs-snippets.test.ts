/**
 * Runs every ```ts / ```typescript code block of README.md and docs/*.md as a standalone program
 * and checks the output its comments promise.
 *
 * How a block is run:
 * - It is written to test/.snippets/<doc>-<line>.mts (git-ignored) with `from "promising-ts"`
 *   rewritten to the source entry (src/index.ts), and run as `node --import tsx <file>` from the
 *   repository root, at most 2 at a time, each killed after 15 s. It must exit with code 0 on its
 *   own (so pool functions must sit at the module's top level and pools must let the process exit).
 *
 * Directives: an HTML comment on the line right before the opening fence (invisible on GitHub).
 * - `<!-- snippet: skip (reason) -->`: the block is not run. The reason is required. Prefer making
 *   a block runnable (define the helper it uses, drop the `...`) over skipping it.
 * - `<!-- snippet: exit-code N (reason) -->`: the block must exit with code N instead of 0.
 * Any other `<!-- snippet: ... -->` comment is an error, so typos do not silently skip a check.
 *
 * Expected output: a `console.log(...)` statement written on one line is an expectation when
 * - its line ends with a comment `// <output>`, or
 * - it has no comment and the next line is a comment line `// <output>` (for long outputs).
 * `<output>` is exactly what that call prints, character for character after `// ` (trailing spaces
 * ignored). Objects and arrays are compared in their single-line `util.inspect` form (what
 * `console.log` prints when the line is wide enough), which is how the docs write them; a call
 * whose output is multi-line anyway cannot carry an expectation. Notes about the output go into
 * the prose or a comment line above the call, never after the output: a comment after a
 * `console.log` is always read as output, so a stale or prose comment fails the test instead of
 * being skipped silently. Other comments, `console.error`, and `console.log` calls without a
 * comment are not checked.
 *
 * Each expectation's call is rewritten to a recorder that prints as `console.log` does and also
 * appends `[id, text]` to a side file; the test requires the recorded calls, filtered to the ones
 * with expectations, to be exactly the expected list in order: each expected call printed once,
 * in document order, with the promised text. Output of calls without expectations is ignored.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const snippetDir = path.join(repoRoot, "test", ".snippets");
const sourceEntry = path.join(repoRoot, "src", "index.ts");
const CHILD_TIMEOUT_MS = 15_000;
const PARALLELISM = 2;

interface Expectation {
  /** 1-based line in the markdown file. */
  docLine: number;
  expected: string;
}

interface Snippet {
  doc: string;
  /** 1-based line of the opening fence in the markdown file. */
  fenceLine: number;
  code: string;
  skip: string | null;
  exitCode: number;
  directiveError: string | null;
}

function docFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(repoRoot, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

const DIRECTIVE = /^<!--\s*snippet:(.*?)-->$/;

function parseDirective(line: string): Pick<Snippet, "skip" | "exitCode" | "directiveError"> {
  const none = { skip: null, exitCode: 0, directiveError: null };
  const match = DIRECTIVE.exec(line.trim());
  if (!match) return none;
  const body = match[1]!.trim();
  const skip = /^skip\b(?:\s*\((.*)\))?$/.exec(body);
  if (skip) {
    const reason = skip[1]?.trim();
    return reason
      ? { ...none, skip: reason }
      : { ...none, directiveError: `skip without a reason: ${line.trim()}` };
  }
  const exit = /^exit-code\s+(\d+)(?:\s*\((.*)\))?$/.exec(body);
  if (exit) {
    return exit[2]?.trim()
      ? { ...none, exitCode: Number(exit[1]) }
      : { ...none, directiveError: `exit-code without a reason: ${line.trim()}` };
  }
  return { ...none, directiveError: `unknown snippet directive: ${line.trim()}` };
}

/** Directives that are not on the line right before a ts block, so would silently do nothing. */
function strayDirectives(doc: string): string[] {
  const lines = fs.readFileSync(path.join(repoRoot, doc), "utf8").split("\n");
  return lines.flatMap((line, i) =>
    DIRECTIVE.test(line.trim()) && !/^\s*`{3,}\s*(ts|typescript)\s*$/.test(lines[i + 1] ?? "")
      ? [`${doc}:${i + 1}: a snippet directive must be on the line right before a \`\`\`ts fence`]
      : [],
  );
}

function extractSnippets(doc: string): Snippet[] {
  const lines = fs.readFileSync(path.join(repoRoot, doc), "utf8").split("\n");
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*(\S*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open as unknown as [string, string, string, string];
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[end]!)) end++;
    if (lang === "ts" || lang === "typescript") {
      const body = lines
        .slice(i + 1, end)
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line));
      snippets.push({ doc, fenceLine: i + 1, code: body.join("\n"), ...parseDirective(lines[i - 1] ?? "") });
    }
    i = end;
  }
  return snippets;
}

/** Index of the `//` that starts a line comment, ignoring `//` inside string and template literals. */
function commentStart(line: string): number {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'" || ch === "`") {
      quote = ch;
    } else if (ch === "/" && line[i + 1] === "/") {
      return i;
    }
  }
  return -1;
}

const CONSOLE_LOG = "console.log(";
const RECORDER = "__snippetLog";

/** The snippet's expectations, and its code with each expectation's call routed to the recorder. */
function instrument(snippet: Snippet): { code: string; expectations: Expectation[] } {
  const lines = snippet.code.split("\n");
  const expectations: Expectation[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const call = line.indexOf(CONSOLE_LOG);
    if (call === -1) continue;
    const comment = commentStart(line);
    let expected: string | null = null;
    if (comment !== -1 && comment > call) {
      expected = line.slice(comment);
    } else if (comment === -1 && line.trimEnd().endsWith(";")) {
      const next = (lines[i + 1] ?? "").trim();
      if (next.startsWith("//")) expected = next;
    }
    if (expected === null) continue;
    if (!expected.startsWith("// ")) {
      throw new Error(`${snippet.doc}:${snippet.fenceLine + 1 + i}: expected output must follow "// "`);
    }
    lines[i] =
      `${line.slice(0, call)}${RECORDER}(${expectations.length}, ${line.slice(call + CONSOLE_LOG.length)}`;
    expectations.push({ docLine: snippet.fenceLine + 1 + i, expected: expected.slice(3).trimEnd() });
  }
  return { code: lines.join("\n"), expectations };
}

function snippetName(snippet: Snippet): string {
  return `${snippet.doc.replace(/[/.]/g, "_")}-${snippet.fenceLine}`;
}

/** The file to run: the instrumented code, the import rewritten, and the recorder appended (so line numbers match the doc). */
function programText(snippet: Snippet, code: string, recordFile: string): string {
  let entry = path.relative(snippetDir, sourceEntry).split(path.sep).join("/");
  if (!entry.startsWith(".")) entry = `./${entry}`;
  const rewritten = code.replace(/(\bfrom\s*|\bimport\s*\(\s*)(["'])promising-ts\2/g, `$1"${entry}"`);
  if (rewritten.includes('"promising-ts"') || rewritten.includes("'promising-ts'")) {
    throw new Error(`${snippet.doc}:${snippet.fenceLine}: an import of promising-ts was not rewritten`);
  }
  return `${rewritten}

// ---- added by test/docs-snippets.test.ts ----
import * as __snippetFs from "node:fs";
import * as __snippetUtil from "node:util";
function ${RECORDER}(id: number, ...args: unknown[]): void {
  console.log(...args);
  const text = __snippetUtil.formatWithOptions({ breakLength: Number.POSITIVE_INFINITY }, ...args);
  __snippetFs.appendFileSync(${JSON.stringify(recordFile)}, \`\${JSON.stringify([id, text])}\\n\`);
}
`;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

let running = 0;
const waiting: (() => void)[] = [];

async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= PARALLELISM) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

function runProgram(file: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, CHILD_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stdout, stderr });
    });
  });
}

const snippets = docFiles().flatMap(extractSnippets);
const passed: string[] = [];

beforeAll(() => {
  fs.rmSync(snippetDir, { recursive: true, force: true });
  fs.mkdirSync(snippetDir, { recursive: true });
});

afterAll(() => {
  // Files of failing snippets stay for inspection (the directory is git-ignored).
  for (const name of passed) {
    fs.rmSync(path.join(snippetDir, `${name}.mts`), { force: true });
    fs.rmSync(path.join(snippetDir, `${name}.jsonl`), { force: true });
  }
  if (fs.existsSync(snippetDir) && fs.readdirSync(snippetDir).length === 0) fs.rmdirSync(snippetDir);
});

describe("docs code snippets", () => {
  it("are found, and every directive is valid", () => {
    expect(snippets.length).toBeGreaterThan(20);
    const errors = snippets.flatMap((s) =>
      s.directiveError ? [`${s.doc}:${s.fenceLine - 1}: ${s.directiveError}`] : [],
    );
    expect([...errors, ...docFiles().flatMap(strayDirectives)]).toEqual([]);
  });

  for (const snippet of snippets) {
    const title = `${snippet.doc}:${snippet.fenceLine}`;
    if (snippet.skip !== null) {
      it.skip(`${title} (skipped: ${snippet.skip})`, () => {});
      continue;
    }
    it.concurrent(
      title,
      async () => {
        const name = snippetName(snippet);
        const file = path.join(snippetDir, `${name}.mts`);
        const recordFile = path.join(snippetDir, `${name}.jsonl`);
        const { code, expectations } = instrument(snippet);
        fs.writeFileSync(file, programText(snippet, code, recordFile));
        fs.rmSync(recordFile, { force: true });

        const result = await withSlot(() => runProgram(file));
        const context = `${title} (${path.relative(repoRoot, file)})\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
        expect(result.timedOut, `timed out after ${CHILD_TIMEOUT_MS} ms: ${context}`).toBe(false);
        expect({ code: result.code, signal: result.signal }, context).toEqual({
          code: snippet.exitCode,
          signal: null,
        });

        const records = fs.existsSync(recordFile)
          ? fs
              .readFileSync(recordFile, "utf8")
              .split("\n")
              .filter(Boolean)
              .map((line) => JSON.parse(line) as [number, string])
          : [];
        const actual = records.map(([id, text]) => ({ line: expectations[id]!.docLine, output: text }));
        const expected = expectations.map(({ docLine, expected }) => ({ line: docLine, output: expected }));
        expect(actual, `printed output differs from the comments: ${context}`).toEqual(expected);
        passed.push(name);
      },
      CHILD_TIMEOUT_MS * 3 + 5_000,
    );
  }
});
