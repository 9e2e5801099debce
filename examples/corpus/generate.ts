/**
 * Generates the demo corpus: `examples/corpus/docs/doc-NNN.txt`, short documents on five themes,
 * written from the word lists and sentence templates below with a seeded PRNG. The output is
 * deterministic (same seed, same files) and entirely made up, so it is license-clean (CC0, see
 * LICENSE.md).
 *
 *   npx tsx examples/corpus/generate.ts           # (re)writes the documents
 *   npx tsx examples/corpus/generate.ts --check   # exits 1 if the committed files differ
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const SEED = 20_261_125;
const DOCUMENTS = 300;
const OUT_DIR = fileURLToPath(new URL("./docs/", import.meta.url));

/** mulberry32: a small, well-distributed 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Theme {
  /** Singular nouns; plurals are derived. */
  nouns: string[];
  /** Proper nouns: names and places that belong to the theme. */
  names: string[];
  adjectives: string[];
  /** [base form, past tense]. */
  verbs: [string, string][];
  /** Sentences specific to the theme ({noun}, {adj}, {name}, ... are filled in). */
  sentences: string[];
  titles: string[];
}

const THEMES: Record<string, Theme> = {
  astronomy: {
    nouns: [
      "telescope",
      "galaxy",
      "star",
      "planet",
      "comet",
      "nebula",
      "orbit",
      "moon",
      "eclipse",
      "meteor",
      "observatory",
      "lens",
      "mirror",
      "constellation",
      "asteroid",
      "horizon",
      "spectrum",
      "satellite",
      "crater",
      "eyepiece",
    ],
    names: ["Andromeda", "Orion", "Jupiter", "Saturn", "Kepler", "Hubble", "Cassiopeia", "Mars"],
    adjectives: [
      "faint",
      "bright",
      "distant",
      "celestial",
      "lunar",
      "solar",
      "dark",
      "clear",
      "red",
      "spiral",
    ],
    verbs: [
      ["observe", "observed"],
      ["track", "tracked"],
      ["photograph", "photographed"],
      ["align", "aligned"],
      ["measure", "measured"],
      ["chart", "charted"],
    ],
    sentences: [
      "The {adj} {noun} rose above the {noun2} {time}.",
      "Through the {noun} we could see the rings of {name} and a {adj} {noun2}.",
      "The {noun} over {name} mattered more than any {adj} {noun2}.",
      "{person} {past} the {nouns} near {name} {time}.",
    ],
    titles: ["Notes from the {noun}", "A night with {name}", "Watching the {adj} {noun}"],
  },
  cooking: {
    nouns: [
      "recipe",
      "onion",
      "garlic",
      "sauce",
      "oven",
      "pan",
      "butter",
      "flour",
      "dough",
      "soup",
      "knife",
      "pepper",
      "tomato",
      "bread",
      "kitchen",
      "spice",
      "broth",
      "lemon",
      "skillet",
      "stew",
    ],
    names: ["Provence", "Naples", "Bologna", "Lyon", "Oaxaca", "Sichuan", "Marseille", "Kerala"],
    adjectives: [
      "crispy",
      "savory",
      "fresh",
      "golden",
      "tender",
      "spicy",
      "creamy",
      "sweet",
      "smoky",
      "salty",
    ],
    verbs: [
      ["simmer", "simmered"],
      ["chop", "chopped"],
      ["roast", "roasted"],
      ["knead", "kneaded"],
      ["season", "seasoned"],
      ["bake", "baked"],
    ],
    sentences: [
      "The {adj} {noun} needs a pinch of {noun2}.",
      "In {name} they keep the {noun} over the {noun2} until it is {adj}.",
      "A {adj} {noun} makes it possible to {verb} the {noun2}.",
      "{person} {past} the {nouns} while the {noun2} waited in the {noun3}.",
    ],
    titles: ["A {adj} {noun} from {name}", "The {noun} notebook", "Cooking with {noun}"],
  },
  sailing: {
    nouns: [
      "boat",
      "sail",
      "harbor",
      "wind",
      "anchor",
      "tide",
      "mast",
      "rope",
      "deck",
      "captain",
      "crew",
      "compass",
      "wave",
      "keel",
      "rudder",
      "current",
      "buoy",
      "storm",
      "coast",
      "voyage",
    ],
    names: ["Atlantic", "Aegean", "Baltic", "Gibraltar", "Azores", "Brittany", "Cornwall", "Adriatic"],
    adjectives: ["salty", "steady", "rough", "calm", "coastal", "northern", "heavy", "swift", "wet", "grey"],
    verbs: [
      ["hoist", "hoisted"],
      ["steer", "steered"],
      ["reef", "reefed"],
      ["anchor", "anchored"],
      ["navigate", "navigated"],
      ["tack", "tacked"],
    ],
    sentences: [
      "The {adj} {noun} pushed the {noun2} toward the {noun3}.",
      "Off {name} the {noun} turned and the {noun2} grew {adj}.",
      "Every {noun} learns to read the {noun2} before the {noun3}.",
      "{person} {past} the {nouns} as the {noun2} came in from {name}.",
    ],
    titles: ["Log of the {adj} {noun}", "Crossing the {name}", "A {noun} in the {noun2}"],
  },
  programming: {
    nouns: [
      "compiler",
      "function",
      "variable",
      "module",
      "thread",
      "database",
      "server",
      "algorithm",
      "library",
      "interface",
      "debugger",
      "query",
      "cache",
      "parser",
      "benchmark",
      "repository",
      "bug",
      "loop",
      "type",
      "request",
    ],
    names: ["Linux", "Python", "Rust", "TypeScript", "Postgres", "Git", "Haskell", "Kubernetes"],
    adjectives: [
      "concurrent",
      "recursive",
      "asynchronous",
      "slow",
      "fast",
      "static",
      "dynamic",
      "generic",
      "immutable",
      "stable",
    ],
    verbs: [
      ["refactor", "refactored"],
      ["compile", "compiled"],
      ["debug", "debugged"],
      ["deploy", "deployed"],
      ["profile", "profiled"],
      ["test", "tested"],
    ],
    sentences: [
      "The {adj} {noun} called the {noun2} once for every {noun3}.",
      "Our {name} {noun} was {adj} until we {past} the {noun2}.",
      "A {adj} {noun} makes the {noun2} easier to read.",
      "{person} {past} the {nouns} and the {noun2} finally passed.",
    ],
    titles: ["Refactoring the {noun}", "A {adj} {noun} in {name}", "Why the {noun} was slow"],
  },
  gardening: {
    nouns: [
      "garden",
      "seed",
      "soil",
      "rose",
      "compost",
      "root",
      "leaf",
      "shovel",
      "greenhouse",
      "tulip",
      "hedge",
      "seedling",
      "flower",
      "weed",
      "bulb",
      "trellis",
      "orchard",
      "blossom",
      "fern",
      "vine",
    ],
    names: ["Kew", "Giverny", "Kyoto", "Sissinghurst", "Versailles", "Chelsea", "Provence", "Tuscany"],
    adjectives: ["green", "fertile", "leafy", "wild", "fragrant", "sunny", "damp", "hardy", "early", "lush"],
    verbs: [
      ["plant", "planted"],
      ["prune", "pruned"],
      ["water", "watered"],
      ["harvest", "harvested"],
      ["mulch", "mulched"],
      ["sow", "sowed"],
    ],
    sentences: [
      "The {adj} {noun} grew along the {noun2} {time}.",
      "In {name} they keep the {noun} {adj} with {noun2}.",
      "Every {adj} {noun} starts with {adj2} {noun2}.",
      "{person} {past} the {nouns} beside the {noun2} {time}.",
    ],
    titles: ["A {adj} {noun} in {name}", "Letters from the {noun}", "The {noun} year"],
  },
};

const PEOPLE = [
  "Ada",
  "Marta",
  "Jonas",
  "Priya",
  "Tomas",
  "Lena",
  "Kofi",
  "Ines",
  "Yuki",
  "Omar",
  "Nora",
  "Felix",
];
const TIMES = [
  "at dawn",
  "before noon",
  "in the evening",
  "after dinner",
  "on Sunday",
  "last week",
  "every morning",
];

/** Sentences any theme can use. */
const GENERIC = [
  "{person} {past} the {noun} {time} and wrote everything down.",
  "Nobody expected the {noun} to be so {adj}.",
  "Most {nouns} are {adj}, but this {noun} was {adj2}.",
  "We {verb} the {noun} {time}, then we talked about the {noun2}.",
  "Check the {noun} twice before you {verb} the {noun2}.",
  "After a while the {nouns} looked {adj} and the {noun2} seemed {adj2}.",
  "{person} prefers a {adj} {noun} to a {adj2} {noun2}.",
  "There was a {adj} {noun} next to the {noun2} {time}.",
  "Everything about {name} reminds {person} of the {noun}.",
  "I still remember the {noun} I {past} {time}.",
];

function plural(noun: string): string {
  if (/(s|x|ch|sh)$/.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

class Writer {
  constructor(readonly random: () => number) {}

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  between(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  fill(template: string, theme: Theme): string {
    const filled = template.replace(/\{(\w+)\}/g, (_, slot: string) => {
      switch (slot) {
        case "noun":
        case "noun2":
        case "noun3":
          return this.pick(theme.nouns);
        case "nouns":
          return plural(this.pick(theme.nouns));
        case "adj":
        case "adj2":
          return this.pick(theme.adjectives);
        case "verb":
          return this.pick(theme.verbs)[0];
        case "past":
          return this.pick(theme.verbs)[1];
        case "name":
          return this.pick(theme.names);
        case "person":
          return this.pick(PEOPLE);
        case "time":
          return this.pick(TIMES);
        default:
          throw new Error(`unknown slot {${slot}}`);
      }
    });
    return filled.charAt(0).toUpperCase() + filled.slice(1);
  }

  sentence(theme: Theme, themes: Theme[]): string {
    // One sentence in ten wanders off to another theme, as real notes do.
    const source = this.random() < 0.1 ? this.pick(themes) : theme;
    const template = this.random() < 0.6 ? this.pick(source.sentences) : this.pick(GENERIC);
    return this.fill(template, source);
  }

  document(themeName: string): string {
    const theme = THEMES[themeName]!;
    const themes = Object.values(THEMES);
    const title = this.fill(this.pick(theme.titles), theme);
    const paragraphs: string[] = [];
    const count = this.between(8, 12);
    for (let p = 0; p < count; p++) {
      const sentences: string[] = [];
      const length = this.between(5, 8);
      for (let s = 0; s < length; s++) sentences.push(this.sentence(theme, themes));
      paragraphs.push(sentences.join(" "));
    }
    return `Title: ${title}\nTheme: ${themeName}\n\n${paragraphs.join("\n\n")}\n`;
  }
}

/** The corpus as file name -> content, in order. */
export function generateCorpus(seed = SEED, documents = DOCUMENTS): Map<string, string> {
  const writer = new Writer(mulberry32(seed));
  const names = Object.keys(THEMES);
  const corpus = new Map<string, string>();
  for (let i = 1; i <= documents; i++) {
    corpus.set(`doc-${String(i).padStart(3, "0")}.txt`, writer.document(writer.pick(names)));
  }
  return corpus;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
  const corpus = generateCorpus();
  if (values.check) {
    const existing = (await readdir(OUT_DIR)).filter((name) => name.endsWith(".txt")).sort();
    const differing = existing.length === corpus.size ? [] : ["(number of files)"];
    for (const [name, content] of corpus) {
      const committed = await readFile(`${OUT_DIR}${name}`, "utf8").catch(() => null);
      if (committed !== content) differing.push(name);
    }
    if (differing.length > 0) {
      console.error(`corpus differs from the generator: ${differing.slice(0, 5).join(", ")}`);
      process.exitCode = 1;
    } else {
      console.log(`corpus matches the generator (${corpus.size} documents)`);
    }
    return;
  }
  await rm(OUT_DIR, { recursive: true, force: true });
  await mkdir(OUT_DIR, { recursive: true });
  let bytes = 0;
  for (const [name, content] of corpus) {
    await writeFile(`${OUT_DIR}${name}`, content);
    bytes += Buffer.byteLength(content);
  }
  console.log(`wrote ${corpus.size} documents (${(bytes / 1024).toFixed(0)} KiB) to ${OUT_DIR}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
