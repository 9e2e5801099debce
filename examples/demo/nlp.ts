/**
 * The demo's pool functions. Pool workers import this module to find them, so it must stay free
 * of side effects: the only state is the lazily loaded wink model, loaded once per thread (per
 * worker, and on the main thread if it extracts directly).
 */
import { createRequire } from "node:module";
import { threadId } from "node:worker_threads";
import type { ItemToken, ItsFunction, WinkMethods } from "wink-nlp";
import * as promising from "../../src/index.ts";

const require = createRequire(import.meta.url);

/** Parts of speech kept as keyword candidates (Universal POS tags). */
const KEPT_POS = new Set(["NOUN", "PROPN", "ADJ"]);
const WORD = /^[a-z][a-z'-]*[a-z]$/;

let nlp: WinkMethods | undefined;
let modelLoadMs = 0;

/** The wink pipeline of this thread, loaded on first use (about 0.4 s, 4 MB of model). */
function getNlp(): WinkMethods {
  if (nlp === undefined) {
    const start = performance.now();
    const winkNLP = require("wink-nlp") as typeof import("wink-nlp").default;
    const model = require("wink-eng-lite-web-model") as import("wink-nlp").Model;
    // Only what keyword extraction needs: sentence boundaries and POS tags (lemmas come with POS).
    nlp = winkNLP(model, ["sbd", "pos"]);
    modelLoadMs = performance.now() - start;
  }
  return nlp;
}

export interface Keyword {
  term: string;
  count: number;
}

export interface Extraction {
  /** The most frequent candidate terms, most frequent first (ties alphabetical). */
  keywords: Keyword[];
  /** Word tokens in the text. */
  words: number;
  /** Candidate tokens counted (kept POS, not stop words). */
  candidates: number;
  /** The thread that ran the extraction (0 = main thread). */
  threadId: number;
  /** Time spent in the extraction itself, on that thread. */
  ms: number;
}

/**
 * Keyword extraction: tokenize and tag `text`, keep nouns, proper nouns and adjectives that are
 * not stop words, normalize them (lemma for nouns and adjectives, lower-cased normal form for
 * proper nouns), and rank the terms by frequency.
 */
function extract(text: string, limit = 10): Extraction {
  const start = performance.now();
  const engine = getNlp();
  const its = engine.its;
  // wink-nlp 2.4's typings declare `its.lemma` with a signature `out()` does not accept.
  const lemma = its.lemma as unknown as ItsFunction<string>;
  const counts = new Map<string, number>();
  let words = 0;
  let candidates = 0;
  engine
    .readDoc(text)
    .tokens()
    .each((token: ItemToken) => {
      if (token.out(its.type) !== "word") return;
      words++;
      const pos = token.out(its.pos);
      if (!KEPT_POS.has(pos) || token.out(its.stopWordFlag)) return;
      const term = (pos === "PROPN" ? token.out(its.normal) : token.out(lemma)).toLowerCase();
      if (!WORD.test(term) || term.length < 3) return;
      candidates++;
      counts.set(term, (counts.get(term) ?? 0) + 1);
    });
  const keywords = [...counts]
    .map(([term, count]) => ({ term, count }))
    .sort((a, b) => b.count - a.count || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0))
    .slice(0, limit);
  return { keywords, words, candidates, threadId, ms: performance.now() - start };
}

/** Runs on a pool worker. `extractKeywords.original` is the same function, for direct calls. */
export const extractKeywords = promising.function(
  { useThreadPool: true },
  function extractKeywords(text: string, limit?: number) {
    return extract(text, limit);
  },
);

/**
 * Loads the model on the thread that runs it, then extracts from `sample` `rounds` times so that
 * the JIT has compiled the extraction code too. Returns the thread and how long each part took.
 */
export const warmUp = promising.function(
  { useThreadPool: true },
  function warmUp(sample: string, rounds?: number) {
    const alreadyLoaded = nlp !== undefined;
    getNlp();
    const start = performance.now();
    for (let i = 0; i < (rounds ?? 1); i++) extract(sample);
    return { threadId, alreadyLoaded, modelLoadMs, extractMs: performance.now() - start };
  },
);
