/**
 * Keyword agent: the TypeScript counterpart of the Python example `examples/keyword_agent.py`.
 *
 * Every text becomes a child promise (`extractKeywords`) of one `agent` promise, so several texts
 * are processed concurrently; the agent waits for its whole subtree with `promising.awaitChildren()`,
 * then awaits each child to print its keywords or its error, with the promise trace of the failure.
 *
 * Two back ends, one schema (zod):
 * - LLM mode, when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set: the official `openai` SDK calls the
 *   chat completions API of any OpenAI-compatible server (model: `OPENAI_MODEL`, default
 *   `gpt-4o-mini`) in JSON mode, and the reply is validated with zod.
 * - Offline mode otherwise (or with `--offline`): a small deterministic extractor built on wink-nlp
 *   (noun phrases ranked by frequency), so the example always runs.
 *
 * Usage:
 *   tsx examples/keyword-agent.ts                      interactive: `text> ` prompt, `exit` to quit
 *   tsx examples/keyword-agent.ts "text one" "text two" one text per argument
 *   cat texts.txt | tsx examples/keyword-agent.ts      one text per line of stdin
 * Options: --interactive (prompt even when stdin is not a terminal), --offline, --verbose (stacks),
 *   --timeout-ms <n> (per request, default 30000), --help.
 * Exit codes: 0 success, 1 a text failed (non-interactive mode), 2 bad usage.
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { ItsFunction } from "wink-nlp";
import { z } from "zod";
import * as promising from "../src/index.ts";

// ---------------------------------------------------------------------------------------------
// The structured output: the same schema for both back ends.

const Keyword = z.object({
  keyword: z.string().min(1).describe("a keyword or short key phrase taken from the text"),
  relevance: z.number().min(0).max(1).describe("how central the keyword is to the text, from 0 to 1"),
});
const KeywordResult = z.object({
  keywords: z.array(Keyword).describe("the keywords, most relevant first"),
  summary: z.string().describe("a one-sentence summary of the text"),
});
type KeywordResult = z.infer<typeof KeywordResult>;

/** The part of a chat completion this example reads; a misbehaving server may send anything. */
const ChatCompletionReply = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
});

/** A failure with a message meant for the user; the original error, if any, is its `cause`. */
class KeywordExtractionError extends Error {
  override name = "KeywordExtractionError";
}

const MAX_KEYWORDS = 8;
/** Every text is a concurrent child promise; this caps the HTTP requests in flight (rate limits). */
const MAX_CONCURRENT_REQUESTS = 8;

// ---------------------------------------------------------------------------------------------
// Back ends.

interface Backend {
  readonly description: string;
  extract(text: string): promising.Promise<KeywordResult>;
}

// Each back end loads its library only when it is used: `openai` and the wink-nlp model each add
// a few hundred milliseconds to the start.

async function makeLlmBackend(timeoutMs: number): Promise<Backend> {
  const { default: OpenAI } = await import("openai");
  const baseURL = process.env.OPENAI_BASE_URL || "https://api.openai.com/v1";
  const modelName = process.env.OPENAI_MODEL || "gpt-4o-mini";
  const client = new OpenAI({
    // Local OpenAI-compatible servers often need no key, but the SDK insists on one.
    apiKey: process.env.OPENAI_API_KEY || "no-key",
    baseURL,
    timeout: timeoutMs,
    maxRetries: 1, // one retry for a transient failure, then a quick, clear error
  });
  const systemPrompt = [
    "You extract keywords from the text the user sends.",
    `Answer with a single JSON object, nothing else, valid against this JSON Schema:`,
    JSON.stringify(z.toJSONSchema(KeywordResult)),
    `Give at most ${MAX_KEYWORDS} keywords, most relevant first, with relevance between 0 and 1.`,
  ].join("\n");

  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const extractWithLlm = promising.function(async function extractWithLlm(text: string) {
    let reply: unknown;
    if (inFlight < MAX_CONCURRENT_REQUESTS) inFlight++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // a finished request hands over its slot
    try {
      reply = await client.chat.completions.create({
        model: modelName,
        messages: [
          { role: "system", content: systemPrompt },
          { role: "user", content: text },
        ],
        response_format: { type: "json_object" }, // JSON mode: the widest support among compatible servers
      });
    } catch (error) {
      throw new KeywordExtractionError(describeRequestFailure(OpenAI, error, baseURL, timeoutMs), {
        cause: error,
      });
    } finally {
      const next = waiting.shift();
      if (next) next();
      else inFlight--;
    }
    return parseReply(reply);
  });

  return { description: `LLM mode: model ${modelName} at ${baseURL}`, extract: extractWithLlm };
}

function describeRequestFailure(
  OpenAI: typeof import("openai").default,
  error: unknown,
  baseURL: string,
  timeoutMs: number,
): string {
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return `the request to ${baseURL} timed out after ${timeoutMs} ms`;
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return `cannot reach the server at ${baseURL} (${rootCauseMessage(error)})`;
  }
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    // The SDK's message starts with the status ("500 Internal error"); keep the server's words.
    const detail = error.message.replace(new RegExp(`^${error.status}\\s*`), "");
    return `the server answered HTTP ${error.status}${detail ? `: ${detail}` : ""}`;
  }
  if (error instanceof SyntaxError) {
    return `the server's response is not valid JSON (${error.message})`;
  }
  return `the request failed: ${error instanceof Error ? error.message : String(error)}`;
}

/** The innermost cause's code or message: "ECONNREFUSED" says more than "fetch failed". */
function rootCauseMessage(error: Error): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  const code = (current as { code?: unknown }).code;
  const message = current instanceof Error ? current.message : String(current);
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message;
}

function parseReply(reply: unknown): KeywordResult {
  const envelope = ChatCompletionReply.safeParse(reply);
  if (!envelope.success) {
    throw new KeywordExtractionError(
      `the server's response is not a chat completion (${formatIssues(envelope.error)}): ${snippet(reply)}`,
    );
  }
  const choice = envelope.data.choices[0]!;
  const content = choice.message.content;
  if (!content) {
    const why = choice.message.refusal ? `refusal: ${choice.message.refusal}` : "no content";
    throw new KeywordExtractionError(`the model's reply is empty (${why})`);
  }
  // Some models wrap JSON in a Markdown code fence even in JSON mode.
  const json = content.replace(/^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/, "$1");
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new KeywordExtractionError(
      `the model's reply is not valid JSON (${(error as Error).message}): ${snippet(content)}`,
      { cause: error },
    );
  }
  const result = KeywordResult.safeParse(data);
  if (!result.success) {
    throw new KeywordExtractionError(
      `the model's reply does not match the keyword schema (${formatIssues(result.error)}): ${snippet(content)}`,
      { cause: result.error },
    );
  }
  const keywords = [...result.data.keywords].sort((a, b) => b.relevance - a.relevance);
  return { keywords: keywords.slice(0, MAX_KEYWORDS), summary: result.data.summary };
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

function snippet(value: unknown, max = 120): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

async function makeOfflineBackend(reason: string): Promise<Backend> {
  const [{ default: winkNLP }, { default: model }] = await Promise.all([
    import("wink-nlp"),
    import("wink-eng-lite-web-model"),
  ]);
  const nlp = winkNLP(model);
  const its = nlp.its;

  interface Word {
    surface: string;
    key: string;
    noun: boolean;
    proper: boolean;
  }

  // Deterministic: noun phrases (runs of adjectives and nouns ending with a noun) and the nouns
  // that recur in them, ranked by how often they and their words occur.
  const extractOffline = promising.function({ useThreadPool: false }, function extractOffline(text: string) {
    const doc = nlp.readDoc(text);
    const tokens = doc.tokens();
    const values = tokens.out() as string[];
    const pos = tokens.out(its.pos) as string[];
    // wink-nlp's typings do not accept its.lemma (a known mismatch); it works at run time.
    const lemmas = tokens.out(its.lemma as ItsFunction<string>) as string[];
    const spaces = tokens.out(its.precedingSpaces) as string[];
    const stop = tokens.out(its.stopWordFlag) as unknown as boolean[];
    const isContent = (i: number) =>
      ["NOUN", "PROPN", "ADJ"].includes(pos[i]!) && !stop[i] && /\p{L}/u.test(values[i]!);

    const phrases: Word[][] = [];
    let run: Word[] = [];
    const flush = () => {
      while (run.length > 0 && !run.at(-1)!.noun) run.pop(); // a phrase ends with a noun
      if (run.length > 0) phrases.push(run.slice(-4));
      run = [];
    };
    for (let i = 0; i < values.length; i++) {
      const last = run.at(-1);
      // "Promising-TS", "event-loop": join hyphenated words written without spaces.
      if (last && values[i] === "-" && spaces[i] === "" && spaces[i + 1] === "" && isContent(i + 1)) {
        i++;
        last.surface += `-${values[i]}`;
        last.key += `-${values[i]!.toLowerCase()}`;
        last.noun ||= pos[i] !== "ADJ";
        last.proper ||= pos[i] === "PROPN";
        continue;
      }
      if (!isContent(i)) {
        flush();
        continue;
      }
      const proper = pos[i] === "PROPN";
      run.push({
        surface: proper ? values[i]! : values[i]!.toLowerCase(),
        key: (proper ? values[i]! : lemmas[i]!).toLowerCase(),
        noun: pos[i] !== "ADJ",
        proper,
      });
    }
    flush();

    const wordCount = new Map<string, number>();
    for (const phrase of phrases)
      for (const w of phrase) wordCount.set(w.key, (wordCount.get(w.key) ?? 0) + 1);
    const candidates = new Map<string, { keyword: string; score: number; order: number }>();
    const add = (key: string, keyword: string, score: number) => {
      const found = candidates.get(key);
      if (found) found.score += score;
      else candidates.set(key, { keyword, score, order: candidates.size });
    };
    for (const phrase of phrases) {
      const key = phrase.map((w) => w.key).join(" ");
      const bonus = phrase.reduce((sum, w) => sum + ((wordCount.get(w.key) ?? 1) - 1) * 0.5, 0);
      add(key, phrase.map((w) => w.surface).join(" "), 1 + 0.25 * (phrase.length - 1) + bonus);
      if (phrase.length > 1) {
        for (const w of phrase) if (w.noun && (wordCount.get(w.key) ?? 0) > 1) add(w.key, w.surface, 0.5);
      }
    }
    const ranked = [...candidates.values()].sort((a, b) => b.score - a.score || a.order - b.order);
    const top = ranked[0]?.score ?? 1;
    const sentence = doc.sentences().out()[0] ?? text;
    return {
      keywords: ranked.slice(0, MAX_KEYWORDS).map(({ keyword, score }) => ({
        keyword,
        relevance: Math.round((score / top) * 100) / 100,
      })),
      summary: sentence.length > 160 ? `${sentence.slice(0, 159)}…` : sentence,
    } satisfies KeywordResult;
  });

  return { description: `offline mode (${reason}): embedded wink-nlp extractor`, extract: extractOffline };
}

// ---------------------------------------------------------------------------------------------
// The agent.

interface Options {
  verbose: boolean;
}

/** One child promise per text; its namespace carries the text's number, so traces say which. */
const extractKeywords = promising.function(async function extractKeywords(backend: Backend, text: string) {
  return await backend.extract(text);
});

const agent = promising.function(async function agent(
  backend: Backend,
  texts: string[],
  firstNumber: number,
  options: Options,
) {
  const jobs = texts.map((text, i) => ({
    number: firstNumber + i,
    text,
    promise: extractKeywords.with({ namespace: `extractKeywords#${firstNumber + i}` })(backend, text),
  }));
  await promising.awaitChildren(); // every text is done (timing only: it never throws)

  let failed = 0;
  for (const job of jobs) {
    try {
      printResult(job.number, job.text, await job.promise);
    } catch (error) {
      failed++;
      printFailure(job.number, job.text, error, options);
    }
  }
  return failed;
});

function printResult(number: number, text: string, result: KeywordResult): void {
  const width = Math.max(0, ...result.keywords.map((k) => k.keyword.length));
  const lines = [`[${number}] ${snippet(text, 72)}`, `    summary: ${result.summary}`];
  if (result.keywords.length === 0) lines.push("    (no keywords found)");
  for (const { keyword, relevance } of result.keywords) {
    lines.push(`    - ${keyword.padEnd(width)}  ${relevance.toFixed(2)}`);
  }
  console.log(lines.join("\n"));
}

function printFailure(number: number, text: string, error: unknown, options: Options): void {
  const message = error instanceof Error ? error.message : String(error);
  const lines = [`[${number}] failed: "${snippet(text, 60)}": ${message}`];
  const trace = (error as { promisingTrace?: string[] } | null)?.promisingTrace;
  if (trace) lines.push("    promise trace (root first):", ...trace.map((entry) => `      ${entry}`));
  if (options.verbose) {
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      lines.push(`    ${e === error ? "" : "caused by: "}${e.stack ?? e.message}`.replaceAll("\n", "\n    "));
    }
  }
  console.error(lines.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Entry point.

const USAGE = `Usage: tsx examples/keyword-agent.ts [options] [text ...]
  With texts as arguments, or lines on stdin (not a terminal), extracts the keywords of each text
  concurrently and exits (1 if a text failed). Otherwise prompts (text> ), \`exit\` to quit.
Options:
  --interactive      prompt even when stdin is not a terminal
  --offline          use the embedded extractor even if OPENAI_API_KEY / OPENAI_BASE_URL is set
  --timeout-ms <n>   timeout of each LLM request (default 30000)
  --verbose          print stacks on errors
  --help             this help
Environment: OPENAI_API_KEY, OPENAI_BASE_URL (any OpenAI-compatible server), OPENAI_MODEL (gpt-4o-mini).`;

interface Cli extends Options {
  interactive: boolean;
  offline: boolean;
  timeoutMs: number;
  texts: string[];
}

const parseOptions = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    options: {
      interactive: { type: "boolean", default: false },
      offline: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      "timeout-ms": { type: "string", default: "30000" },
      help: { type: "boolean", short: "h", default: false },
    },
  });

function parseCli(argv: string[]): Cli | { usageError: string } | "help" {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    return { usageError: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const timeoutMs = Number(values["timeout-ms"]);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    return { usageError: `--timeout-ms must be a positive integer, got ${values["timeout-ms"]}` };
  }
  return {
    interactive: values.interactive,
    offline: values.offline,
    verbose: values.verbose,
    timeoutMs,
    texts: positionals.map((t) => t.trim()).filter(Boolean),
  };
}

async function readStdinLines(): Promise<string[]> {
  let input = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin) input += chunk;
  return input
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

async function interactiveLoop(backend: Backend, options: Options, firstNumber: number): Promise<void> {
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  });
  rl.on("SIGINT", () => rl.close()); // Ctrl-C quits like `exit`
  // Input may end (EOF) while a text is still being processed; the lines read before it are still
  // processed. Node 24's readline throws on prompt() once closed, so the prompt is written by hand then.
  let closed = false;
  rl.on("close", () => {
    closed = true;
  });
  const prompt = () => (closed ? process.stdout.write("text> ") : rl.prompt());
  console.log("Type a text to extract its keywords; `exit` to quit.");
  rl.setPrompt("text> ");
  prompt();
  let number = firstNumber;
  let exited = false;
  for await (const raw of rl) {
    const line = raw.trim();
    if ((exited = /^(exit|quit)$/i.test(line))) break;
    if (line) await agent(backend, [line], number++, options); // failures are printed, the loop goes on
    prompt();
  }
  if (!exited) console.log(); // end of input (Ctrl-D) or Ctrl-C: end the prompt's line
  rl.close();
}

const main = promising.function(async function main(cli: Cli): Promise<number> {
  const configured = Boolean(process.env.OPENAI_API_KEY || process.env.OPENAI_BASE_URL);
  const backend =
    configured && !cli.offline
      ? await makeLlmBackend(cli.timeoutMs)
      : await makeOfflineBackend(cli.offline ? "--offline" : "no OPENAI_API_KEY or OPENAI_BASE_URL set");
  console.error(`keyword-agent: ${backend.description}`);

  const interactive = cli.interactive || (cli.texts.length === 0 && Boolean(process.stdin.isTTY));
  if (interactive) {
    if (cli.texts.length > 0) await agent(backend, cli.texts, 1, cli); // texts given with --interactive
    await interactiveLoop(backend, cli, cli.texts.length + 1);
    return 0;
  }
  const texts = cli.texts.length > 0 ? cli.texts : await readStdinLines();
  if (texts.length === 0) {
    console.error("keyword-agent: no text given (arguments or lines on stdin)");
    return 2;
  }
  const failed = await agent(backend, texts, 1, cli);
  if (failed > 0) console.error(`keyword-agent: ${failed} of ${texts.length} texts failed`);
  return failed > 0 ? 1 : 0;
});

const cli = parseCli(process.argv.slice(2));
if (cli === "help") {
  console.log(USAGE);
} else if ("usageError" in cli) {
  console.error(`keyword-agent: ${cli.usageError}\n\n${USAGE}`);
  process.exitCode = 2;
} else {
  try {
    process.exitCode = await main.run(cli);
  } catch (error) {
    // Only a bug gets here: every per-text failure is handled by the agent.
    console.error(`keyword-agent: ${cli.verbose ? ((error as Error).stack ?? error) : error}`);
    process.exitCode = 1;
  }
}
