/**
 * examples/keyword-agent.ts, run for real in child processes: offline mode, LLM mode against a real
 * OpenAI-compatible HTTP server on 127.0.0.1, the server failing in every way the example must
 * report clearly, and the interactive loop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, test } from "vitest";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const CHILD_TIMEOUT_MS = 20_000; // a hang, even on a loaded machine

// ---------------------------------------------------------------------------------------------
// Running the example.

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

// The tests run concurrently, but at most one child per CPU at a time: each one starts a Node
// process with tsx, and a child's own timeout only counts once it has been spawned.
let running = 0;
const waiting: (() => void)[] = [];
async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running < Math.max(2, availableParallelism())) running++;
  else await new Promise<void>((r) => waiting.push(r)); // a finished child hands over its slot
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** The environment of the test runner, without OPENAI_* variables, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("OPENAI_")));
  return { ...base, NO_COLOR: "1", ...env };
}

function runAgent(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  return withSlot(() => spawnAgent(args, options));
}

function spawnAgent(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string },
): Promise<RunResult> {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/keyword-agent.ts", ...args], {
    cwd: repoRoot,
    env: childEnv(options.env ?? {}),
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.on("error", () => {}); // the child may exit before reading everything
  child.stdin.end(options.stdin);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`keyword-agent ${args.join(" ")} hung for ${CHILD_TIMEOUT_MS} ms:\n${stdout}\n${stderr}`),
      );
    }, CHILD_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// A real OpenAI-compatible server. `/v1/chat/completions` answers correctly; `/<scenario>/v1/...`
// misbehaves as the scenario says, so concurrent tests share one server without interfering.

interface Received {
  scenario: string;
  body: { model?: string; response_format?: unknown; messages?: { role: string; content: string }[] };
}

const received: Received[] = [];
let okPending = 0; // requests of the "ok" scenario being answered right now
let okPeak = 0;
let server: Server;
let baseUrl: string; // http://127.0.0.1:PORT
let refusedPort: number; // a port nobody listens on

const userText = (body: Received["body"]) => body.messages?.find((m) => m.role === "user")?.content ?? "";

function completion(content: string) {
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: "mock-model",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

function goodReply(text: string) {
  return {
    keywords: [
      { keyword: "server keyword low", relevance: 0.25 },
      { keyword: `server keyword for ${text.split(" ")[0]}`, relevance: 0.9 },
    ],
    summary: `server summary of: ${text}`,
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  const match = /^(?:\/([\w-]+))?\/v1\/chat\/completions$/.exec(req.url ?? "");
  if (req.method !== "POST" || !match) return sendJson(res, 404, { error: { message: "not found" } });
  const scenario = match[1] ?? "ok";
  const body = JSON.parse(raw) as Received["body"];
  received.push({ scenario, body });
  const text = userText(body);
  switch (scenario) {
    case "ok": // answers after 150 ms; texts starting with "fenced" get their JSON in a Markdown fence
      okPeak = Math.max(okPeak, ++okPending);
      await new Promise((resolve) => setTimeout(resolve, 150));
      okPending--;
      if (text.startsWith("fenced")) {
        return sendJson(res, 200, completion(`\`\`\`json\n${JSON.stringify(goodReply(text))}\n\`\`\``));
      }
      return sendJson(res, 200, completion(JSON.stringify(goodReply(text))));
    case "mixed": // texts mentioning "boom" make the server fail
      if (text.includes("boom")) return sendJson(res, 500, { error: { message: "mock server exploded" } });
      return sendJson(res, 200, completion(JSON.stringify(goodReply(text))));
    case "http500":
      return sendJson(res, 500, { error: { message: "mock server exploded", type: "server_error" } });
    case "malformed": // the text says how the reply is malformed
      if (text.startsWith("invalid json")) {
        return sendJson(res, 200, completion("Sure! Here are the keywords: alpha, beta {"));
      }
      if (text.startsWith("schema-invalid")) {
        return sendJson(res, 200, completion(JSON.stringify({ keywords: [{ keyword: "x", relevance: 7 }] })));
      }
      if (text.startsWith("broken body")) {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end('{"choices": [');
      }
      return sendJson(res, 200, { hello: "world" }); // JSON, but not a chat completion
    case "slow":
      return; // never answers: the client's timeout must fire
    default:
      return sendJson(res, 404, { error: { message: `unknown scenario ${scenario}` } });
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((error) => sendJson(res, 400, { error: { message: String(error) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  refusedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

const llmEnv = (scenario?: string): Record<string, string> => ({
  OPENAI_BASE_URL: scenario ? `${baseUrl}/${scenario}/v1` : `${baseUrl}/v1`,
  OPENAI_API_KEY: "test",
  OPENAI_MODEL: "mock-model",
});

const STACK_LINE = /\n\s+at /;

// ---------------------------------------------------------------------------------------------

describe.concurrent("keyword-agent example", { timeout: 90_000 }, () => {
  test("offline mode, texts as arguments", async ({ expect }) => {
    const r = await runAgent([
      "Promising-TS brings hierarchical promise management to TypeScript. The promise tree shows every promise.",
      "Graph databases store nodes and edges; graph queries follow edges.",
    ]);
    expect(r.stderr).toContain("offline mode");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[1\] Promising-TS brings/m);
    expect(r.stdout).toMatch(/^\[2\] Graph databases/m);
    expect(r.stdout).toMatch(/- promise\s+1\.00/);
    expect(r.stdout).toContain("hierarchical promise management");
    expect(r.stdout).toMatch(/- edges\s+\d\.\d\d/);
  });

  test("offline mode, one text per line of stdin", async ({ expect }) => {
    const r = await runAgent([], {
      stdin: "Rust ownership rules prevent data races.\n\n  Kubernetes schedules containers on nodes.  \n",
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("offline mode");
    expect(r.stdout).toMatch(/^\[1\] Rust ownership rules/m);
    expect(r.stdout).toMatch(/^\[2\] Kubernetes schedules/m);
    expect(r.stdout).toContain("data races");
    expect(r.stdout).not.toContain("[3]"); // the blank line is skipped
  });

  test("bad usage and empty input exit 2", async ({ expect }) => {
    const [bad, empty] = await Promise.all([runAgent(["--bogus"]), runAgent([], { stdin: "\n \n" })]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--bogus'");
    expect(bad.stderr).toContain("Usage:");
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("no text given");
  });

  test("LLM mode against a real OpenAI-compatible server", async ({ expect }) => {
    const texts = [
      "alpha: TypeScript promises form a tree",
      "beta: the agent runs children concurrently",
      "fenced: a reply in a Markdown code fence is accepted",
      ...Array.from({ length: 9 }, (_, i) => `filler text ${i}`),
    ];
    const r = await runAgent(texts, { env: llmEnv() });
    expect(r.stderr).toContain(`LLM mode: model mock-model at ${baseUrl}/v1`);
    expect(r.code).toBe(0);
    for (const [i, text] of texts.entries()) {
      const requests = received.filter((q) => q.scenario === "ok" && userText(q.body) === text);
      expect(requests).toHaveLength(1);
      expect(requests[0]!.body.model).toBe("mock-model");
      expect(requests[0]!.body.response_format).toEqual({ type: "json_object" });
      expect(r.stdout).toContain(`[${i + 1}] ${text}`);
      expect(r.stdout).toContain(`summary: server summary of: ${text}`);
    }
    // Sorted by relevance: the 0.9 keyword comes first.
    expect(r.stdout).toMatch(/- server keyword for alpha:\s+0\.90\n\s+- server keyword low\s+0\.25/);
    expect(r.stdout).toContain("server keyword for beta:");
    expect(r.stderr).not.toContain("failed");
    // The texts are processed concurrently, at most 8 requests at a time.
    expect(okPeak).toBeGreaterThan(1);
    expect(okPeak).toBeLessThanOrEqual(8);
  });

  test("HTTP 500: clear error on stderr, exit 1, no stack, no hang", async ({ expect }) => {
    const r = await runAgent(["a text the server cannot handle"], { env: llmEnv("http500") });
    expect(r.code).toBe(1);
    expect(r.signal).toBeNull();
    expect(r.stderr).toContain(
      '[1] failed: "a text the server cannot handle": the server answered HTTP 500: mock server exploded',
    );
    expect(r.stderr).toContain("promise trace (root first):");
    expect(r.stderr).toMatch(
      /Promise\(main, pending\)\n\s+Promise\(agent, pending\)\n\s+Promise\(extractKeywords#1/,
    );
    expect(r.stderr).toContain("Promise(extractWithLlm, rejected)");
    expect(r.stderr).toContain("keyword-agent: 1 of 1 texts failed");
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stderr).not.toMatch(/unhandled/i);
    expect(r.stdout).toBe("");
    const requests = received.filter((q) => q.scenario === "http500");
    expect(requests.some((q) => userText(q.body) === "a text the server cannot handle")).toBe(true);
  });

  test("one failing text among several: the others are printed, exit 1; --verbose adds stacks", async ({
    expect,
  }) => {
    const r = await runAgent(["--verbose", "good one", "boom goes this one", "good two"], {
      env: llmEnv("mixed"),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("summary: server summary of: good one");
    expect(r.stdout).toContain("summary: server summary of: good two");
    expect(r.stderr).toContain('[2] failed: "boom goes this one": the server answered HTTP 500');
    // The trace names the failing text's promise, then the promise the error escaped from.
    expect(r.stderr).toMatch(/Promise\(extractKeywords#2, pending\)\n\s+Promise\(extractWithLlm, rejected\)/);
    expect(r.stderr).toContain("keyword-agent: 1 of 3 texts failed");
    expect(r.stderr).toMatch(STACK_LINE);
    expect(r.stderr).toContain("KeywordExtractionError: the server answered HTTP 500");
    expect(r.stderr).toMatch(/caused by: \w*Error: 500 mock server exploded/);
  });

  test("connection refused: clear error, exit 1", async ({ expect }) => {
    const r = await runAgent(["nobody is listening"], {
      env: { ...llmEnv(), OPENAI_BASE_URL: `http://127.0.0.1:${refusedPort}/v1` },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `[1] failed: "nobody is listening": cannot reach the server at http://127.0.0.1:${refusedPort}/v1 (`,
    );
    expect(r.stderr).toContain("ECONNREFUSED");
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  test("a server that never answers: the request times out, exit 1", async ({ expect }) => {
    const r = await runAgent(["--timeout-ms", "300", "a slow text"], { env: llmEnv("slow") });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the request to ${baseUrl}/slow/v1 timed out after 300 ms`);
  });

  test("invalid JSON, schema-invalid JSON, a broken body, a non-completion: clear errors, exit 1", async ({
    expect,
  }) => {
    const texts = ["invalid json please", "schema-invalid please", "broken body please", "other body please"];
    const r = await runAgent(texts, { env: llmEnv("malformed") });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      '[1] failed: "invalid json please": the model\'s reply is not valid JSON (Unexpected token',
    );
    expect(r.stderr).toContain("): Sure! Here are the keywords: alpha, beta {\n");
    expect(r.stderr).toContain(
      '[2] failed: "schema-invalid please": the model\'s reply does not match the keyword schema (' +
        "keywords.0.relevance: Too big: expected number to be <=1; " +
        "summary: Invalid input: expected string, received undefined)",
    );
    expect(r.stderr).toContain(
      '[3] failed: "broken body please": the server\'s response is not valid JSON (',
    );
    expect(r.stderr).toContain(
      '[4] failed: "other body please": the server\'s response is not a chat completion (choices: ',
    );
    expect(r.stderr).toContain("keyword-agent: 4 of 4 texts failed");
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  test("interactive loop (forced on a pipe): prompt, result, `exit`", async ({ expect }) => {
    const r = await runAgent(["--interactive"], {
      stdin: "Graph databases store nodes and edges.\nexit\nthis line comes after exit\n",
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("`exit` to quit");
    expect(r.stdout).toMatch(/^text> \[1\] Graph databases store nodes and edges\./m);
    expect(r.stdout).toContain("edges");
    expect(r.stdout).toMatch(/\ntext> $/);
    expect(r.stdout).not.toContain("this line comes after exit");
  });

  test("interactive loop in LLM mode: a failure is reported and the loop goes on; EOF ends it", async ({
    expect,
  }) => {
    const r = await runAgent(["--interactive"], { env: llmEnv("mixed"), stdin: "boom first\nsecond line\n" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('[1] failed: "boom first": the server answered HTTP 500');
    expect(r.stdout).toContain("[2] second line");
    expect(r.stdout).toContain("summary: server summary of: second line");
    expect(r.stdout.match(/text> /g)).toHaveLength(3);
  });
});
