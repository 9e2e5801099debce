/**
 * Property-based tests of configuration resolution (SPEC 2.7) over random trees of promises
 * and contexts.
 *
 * The expected values come from a small reference model written from the SPEC text alone
 * (`resolveModel` below); the library is only observed *behaviourally*: each promise records
 * in its work whether it ran, a few macrotasks pass without anybody consuming it, and "it ran"
 * must equal the model's resolved `startSoon`. Deferred promises are then consumed so that
 * their children get created, and the check repeats level by level until the tree is complete.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import * as promising from "../../src/index.ts";
import { macrotask } from "../helpers.ts";

// ---------------------------------------------------------------------------------------------
// Option values, as readable tags (so fast-check counterexamples read well)
// ---------------------------------------------------------------------------------------------

/** "absent": the key is not in the options object; "undefined": the key is present with `undefined`. */
type Tag = "true" | "false" | "null" | "INHERIT" | "PROMISING_DEFAULT" | "UNCHANGED" | "absent" | "undefined";

const START_SOON_TAGS = ["true", "false", "null", "INHERIT", "absent"] as const;
const CHILDREN_START_SOON_TAGS = ["true", "false", "null", "INHERIT", "absent"] as const;
const START_SOON_DEFAULT_TAGS = ["true", "false", "INHERIT", "PROMISING_DEFAULT", "absent"] as const;

function valueOf(tag: Tag): unknown {
  switch (tag) {
    case "true":
      return true;
    case "false":
      return false;
    case "null":
      return null;
    case "INHERIT":
      return promising.INHERIT;
    case "PROMISING_DEFAULT":
      return promising.PROMISING_DEFAULT;
    case "UNCHANGED":
      return promising.UNCHANGED;
    default:
      return undefined;
  }
}

/** The three configuration keys; `startSoon` is absent for contexts. */
interface ConfigTags {
  startSoon?: Tag;
  childrenStartSoon: Tag;
  startSoonDefault: Tag;
}

function toOptions(tags: ConfigTags): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, tag] of Object.entries(tags) as [keyof ConfigTags, Tag][]) {
    if (tag !== "absent") options[key] = valueOf(tag);
  }
  return options;
}

/** `.with()` semantics (SPEC 1): a present, non-undefined, non-UNCHANGED call-time key wins. */
function mergeWith(decoration: ConfigTags, call: ConfigTags): ConfigTags {
  const merged = { ...decoration };
  for (const key of Object.keys(call) as (keyof ConfigTags)[]) {
    const tag = call[key]!;
    if (tag !== "absent" && tag !== "undefined" && tag !== "UNCHANGED") merged[key] = tag;
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// The reference model (from SPEC 2.7, SPEC 4.3 and the Python README; no library code)
// ---------------------------------------------------------------------------------------------

interface Resolved {
  isPromise: boolean;
  /** Promises only. */
  startSoon: boolean | undefined;
  /** `null`: no enforcement. */
  childrenStartSoon: boolean | null;
  startSoonDefault: boolean;
  /** The resolved startSoon of the nearest promise on the path from this node to the root (itself included). */
  nearestPromiseStartSoon: boolean | undefined;
}

/**
 * - startSoonDefault: absent = INHERIT; INHERIT = parent's resolved value, at a root the
 *   global `Defaults.START_SOON` read at creation; PROMISING_DEFAULT = that global, read now.
 * - childrenStartSoon: absent = `null` for promises, INHERIT for contexts; INHERIT = parent's
 *   resolved value (which may be `null`), at a root `null`.
 * - startSoon (promises): absent = `null`; `null` = parent's childrenStartSoon when the parent
 *   enforces one (non-null), else own startSoonDefault; INHERIT = the resolved startSoon of the
 *   nearest ancestor *promise* (contexts are skipped), else own startSoonDefault.
 */
function resolveModel(
  isPromise: boolean,
  tags: ConfigTags,
  parent: Resolved | null,
  globalAtCreation: boolean,
): Resolved {
  const isAbsent = (tag: Tag | undefined) => tag === undefined || tag === "absent" || tag === "undefined";

  const ssdTag = isAbsent(tags.startSoonDefault) ? "INHERIT" : tags.startSoonDefault;
  const startSoonDefault =
    ssdTag === "INHERIT"
      ? parent !== null
        ? parent.startSoonDefault
        : globalAtCreation
      : ssdTag === "PROMISING_DEFAULT"
        ? globalAtCreation
        : ssdTag === "true";

  const cssTag = isAbsent(tags.childrenStartSoon) ? (isPromise ? "null" : "INHERIT") : tags.childrenStartSoon;
  const childrenStartSoon =
    cssTag === "INHERIT"
      ? parent !== null
        ? parent.childrenStartSoon
        : null
      : cssTag === "null"
        ? null
        : cssTag === "true";

  let startSoon: boolean | undefined;
  if (isPromise) {
    const ssTag = isAbsent(tags.startSoon) ? "null" : tags.startSoon;
    if (ssTag === "true" || ssTag === "false") startSoon = ssTag === "true";
    else if (ssTag === "null")
      startSoon =
        parent !== null && parent.childrenStartSoon !== null ? parent.childrenStartSoon : startSoonDefault;
    else startSoon = parent?.nearestPromiseStartSoon ?? startSoonDefault; // INHERIT
  }
  return {
    isPromise,
    startSoon,
    childrenStartSoon,
    startSoonDefault,
    nearestPromiseStartSoon: isPromise ? startSoon : parent?.nearestPromiseStartSoon,
  };
}

// ---------------------------------------------------------------------------------------------
// Tree descriptions
// ---------------------------------------------------------------------------------------------

/**
 * - "context": `promising.context(options).run(block)`
 * - "function": `promising.function(options)(async fn)()`
 * - "with": `promising.function(decoration)(async fn).with(options)()`
 * - "thunk": `new promising.Promise(thunk, options)`
 */
type Kind = "context" | "function" | "with" | "thunk";

interface NodeDesc {
  kind: Kind;
  /** The options given (call-time overrides for "with"). */
  options: ConfigTags;
  /** "with" only: the decoration-time options. */
  decoration?: ConfigTags;
  /** `undefined`: no `parent` option (the active context); "root": `parent: null`; a number: a foster node. */
  adopt?: "root" | number;
  /** Create the children after an `await` (the hierarchy must survive it). */
  awaitFirst: boolean;
  children: NodeDesc[];
}

const tagOf = <T extends Tag>(tags: readonly T[]) => fc.constantFrom(...tags);
/** Each listed value (including "absent"), and now and then "undefined" (key present, value undefined). */
const withUndefined = <T extends Tag>(tags: readonly T[]) =>
  fc.oneof(
    { weight: 9, arbitrary: tagOf(tags) },
    { weight: 1, arbitrary: fc.constant("undefined" as const) },
  );

const contextTags: fc.Arbitrary<ConfigTags> = fc.record({
  childrenStartSoon: withUndefined(CHILDREN_START_SOON_TAGS),
  startSoonDefault: withUndefined(START_SOON_DEFAULT_TAGS),
});
const promiseTags: fc.Arbitrary<ConfigTags> = fc.record({
  startSoon: withUndefined(START_SOON_TAGS),
  childrenStartSoon: withUndefined(CHILDREN_START_SOON_TAGS),
  startSoonDefault: withUndefined(START_SOON_DEFAULT_TAGS),
});
const overrideTags: fc.Arbitrary<ConfigTags> = fc.record({
  startSoon: fc.oneof(withUndefined(START_SOON_TAGS), fc.constant("UNCHANGED" as const)),
  childrenStartSoon: fc.oneof(withUndefined(CHILDREN_START_SOON_TAGS), fc.constant("UNCHANGED" as const)),
  startSoonDefault: fc.oneof(withUndefined(START_SOON_DEFAULT_TAGS), fc.constant("UNCHANGED" as const)),
});

function adoptArb(adoptWeight: number): fc.Arbitrary<"root" | number | undefined> {
  if (adoptWeight === 0) return fc.constant(undefined);
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant(undefined) },
    { weight: adoptWeight, arbitrary: fc.constant("root" as const) },
    { weight: 2 * adoptWeight, arbitrary: fc.nat(2) },
  );
}

/** A node whose subtree is at most `depth` levels below it. */
function nodeArb(depth: number, adoptWeight: number): fc.Arbitrary<NodeDesc> {
  const children =
    depth <= 0 ? fc.constant([] as NodeDesc[]) : fc.array(nodeArb(depth - 1, adoptWeight), { maxLength: 3 });
  const common = { adopt: adoptArb(adoptWeight), awaitFirst: fc.boolean(), children };
  return fc.oneof(
    fc.record({ kind: fc.constant("context" as const), options: contextTags, ...common }),
    fc.record({ kind: fc.constant("function" as const), options: promiseTags, ...common }),
    fc.record({
      kind: fc.constant("with" as const),
      options: overrideTags,
      decoration: promiseTags,
      ...common,
    }),
    fc.record({ kind: fc.constant("thunk" as const), options: promiseTags, ...common }),
  );
}

/** Foster nodes: a chain created up front, each the explicit parent of the next; targets of `adopt`. */
interface FosterDesc {
  kind: Kind;
  options: ConfigTags;
}
const fosterArb: fc.Arbitrary<FosterDesc> = fc.oneof(
  fc.record({ kind: fc.constant("context" as const), options: contextTags }),
  fc.record({ kind: fc.constantFrom("function" as const, "thunk" as const), options: promiseTags }),
);

// ---------------------------------------------------------------------------------------------
// The harness: builds the tree through the public API and observes which promises started
// ---------------------------------------------------------------------------------------------

type AnyNode = promising.PromisingContext | promising.Promise<unknown>;

interface Entry {
  path: string;
  kind: Kind;
  /** The effective options (after `.with()` merging). */
  tags: ConfigTags;
  globalAtCreation: boolean;
  resolved: Resolved;
  node: AnyNode | null;
  expectedParent: AnyNode | null;
  promise: promising.Promise<unknown> | null;
  ran: boolean;
  checked: boolean;
  consumed: boolean;
}

const noop = () => {};

class Harness {
  readonly entries = new Map<string, Entry>();
  readonly fosters: Entry[] = [];
  readonly problems: string[] = [];
  private global = promising.Defaults.START_SOON;

  setGlobal(value: boolean): void {
    this.global = value;
    promising.Defaults.START_SOON = value;
  }

  /** Creates a foster chain at top level: fosters[i] has explicit parent fosters[i-1] (fosters[0]: none). */
  createFosters(descs: FosterDesc[]): void {
    for (const [index, desc] of descs.entries()) {
      const parent = index === 0 ? undefined : this.fosters[index - 1]!;
      const entry = this.create(
        { ...desc, awaitFirst: false, children: [] },
        `f${index}`,
        null,
        null,
        parent,
      );
      this.fosters.push(entry);
    }
  }

  /**
   * Creates one node. `structuralParent` is the node active where it is created;
   * `explicitParent`: `undefined` = no `parent` option, `null` = `parent: null`, an Entry = `parent: thatNode`.
   */
  create(
    desc: NodeDesc,
    path: string,
    structuralParent: Entry | null,
    structuralNode: AnyNode | null,
    explicitParent?: Entry | null,
  ): Entry {
    const tags = desc.kind === "with" ? mergeWith(desc.decoration!, desc.options) : desc.options;
    const modelParent = explicitParent === undefined ? structuralParent : explicitParent;
    const isPromise = desc.kind !== "context";
    const entry: Entry = {
      path,
      kind: desc.kind,
      tags,
      globalAtCreation: this.global,
      resolved: resolveModel(isPromise, tags, modelParent?.resolved ?? null, this.global),
      node: null,
      expectedParent: explicitParent === undefined ? structuralNode : (explicitParent?.node ?? null),
      promise: null,
      ran: false,
      checked: false,
      consumed: false,
    };
    this.entries.set(path, entry);

    const parentOption =
      explicitParent === undefined ? {} : { parent: explicitParent === null ? null : explicitParent.node };
    const createChildren = (self: AnyNode) => {
      entry.ran = true;
      for (const [index, child] of desc.children.entries()) {
        const explicit =
          child.adopt === undefined
            ? undefined
            : child.adopt === "root" || this.fosters.length === 0
              ? null
              : this.fosters[child.adopt % this.fosters.length]!;
        this.create(child, `${path}.${index}`, entry, self, explicit);
      }
    };
    const asyncWork = async () => {
      if (desc.awaitFirst) await null;
      createChildren(entry.node!);
    };

    switch (desc.kind) {
      case "context": {
        const factory = promising.context({ ...toOptions(desc.options), ...parentOption });
        if (desc.awaitFirst) {
          // An async block: its children are created after an await, still inside the context.
          void factory.run(async (ctx) => {
            entry.node = ctx;
            await null;
            createChildren(ctx);
          });
        } else {
          entry.node = factory.run((ctx) => {
            createChildren(ctx);
            return ctx;
          });
        }
        break;
      }
      case "function": {
        const f = promising.function({ ...toOptions(desc.options), ...parentOption })(async function work() {
          await asyncWork();
        });
        entry.promise = f();
        break;
      }
      case "with": {
        const f = promising.function(toOptions(desc.decoration!))(async function work() {
          await asyncWork();
        });
        entry.promise = f.with({
          ...(toOptions(desc.options) as promising.FunctionOverrides),
          ...parentOption,
        })();
        break;
      }
      case "thunk": {
        const thunk = desc.awaitFirst ? asyncWork : () => createChildren(entry.node!);
        entry.promise = new promising.Promise<unknown>(thunk, {
          ...toOptions(desc.options),
          ...parentOption,
        });
        break;
      }
    }
    if (entry.promise !== null) entry.node = entry.promise;
    this.checkParent(entry);
    return entry;
  }

  private checkParent(entry: Entry): void {
    const actual = entry.node!.getParentContext({ raiseIfNone: false });
    if (actual !== entry.expectedParent) {
      this.problems.push(
        `${entry.path}: parent is ${String(actual)}, expected ${String(entry.expectedParent)} (SPEC 2.5)`,
      );
    }
  }

  /** Checks every promise created since the last check: started without consumption iff the model says eager. */
  checkNew(): number {
    let checked = 0;
    for (const entry of this.entries.values()) {
      if (entry.checked || entry.promise === null) continue;
      entry.checked = true;
      checked++;
      if (entry.ran !== entry.resolved.startSoon) {
        this.problems.push(
          `${entry.path} (${entry.kind} ${JSON.stringify(entry.tags)}, Defaults.START_SOON at creation ` +
            `${entry.globalAtCreation}): ${entry.ran ? "started" : "did not start"} unconsumed, ` +
            `model says startSoon=${entry.resolved.startSoon} ${JSON.stringify(this.chain(entry.path))}`,
        );
      }
    }
    return checked;
  }

  /** The model's view of the ancestors (for failure messages). */
  private chain(path: string): string[] {
    const parts = path.split(".");
    const out: string[] = [];
    for (let i = 1; i < parts.length; i++) {
      const e = this.entries.get(parts.slice(0, i).join("."));
      if (e) out.push(`${e.path}:${e.kind}:${JSON.stringify(e.resolved)}`);
    }
    return out;
  }

  /** Consumes every checked promise that has not run, so its children get created. Returns how many. */
  consumeDeferred(): number {
    let count = 0;
    for (const entry of this.entries.values()) {
      if (entry.promise === null || !entry.checked || entry.ran || entry.consumed) continue;
      entry.consumed = true;
      count++;
      entry.promise.then(noop, noop);
    }
    return count;
  }
}

async function settle(turns = 4): Promise<void> {
  for (let i = 0; i < turns; i++) await macrotask();
}

const originalStartSoon = promising.Defaults.START_SOON;
afterEach(() => {
  promising.Defaults.START_SOON = originalStartSoon;
});

/**
 * Builds the forest level by level. `globals[r]` is Defaults.START_SOON while round r creates
 * nodes; `flips[r]` is set right after creation and before the check, so nodes already created
 * must not notice it (freezing), while nodes created in later rounds see `globals[r + 1]`.
 */
async function runForest(
  roots: NodeDesc[],
  fosters: FosterDesc[],
  globals: boolean[],
  flips: (boolean | null)[],
): Promise<Harness> {
  const harness = new Harness();
  try {
    for (let round = 0; round < 12; round++) {
      harness.setGlobal(globals[Math.min(round, globals.length - 1)]!);
      if (round === 0) {
        harness.createFosters(fosters);
        for (const [index, root] of roots.entries()) {
          const explicit =
            root.adopt === undefined
              ? undefined
              : root.adopt === "root"
                ? null
                : harness.fosters[root.adopt % harness.fosters.length]!;
          harness.create(root, `${index}`, null, null, explicit);
        }
      } else if (harness.consumeDeferred() === 0) {
        break;
      }
      await settle();
      const flip = flips[Math.min(round, flips.length - 1)];
      if (flip !== null && flip !== undefined) harness.setGlobal(flip);
      await settle();
      harness.checkNew();
    }
  } finally {
    promising.Defaults.START_SOON = originalStartSoon;
  }
  return harness;
}

function report(harness: Harness): void {
  if (harness.problems.length > 0) throw new Error(harness.problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Sanity checks of the model itself (hand-worked examples from the SPEC text)
// ---------------------------------------------------------------------------------------------

describe("reference model (hand-worked SPEC examples)", () => {
  const ctx = (o: Partial<ConfigTags>, parent: Resolved | null, g = true) =>
    resolveModel(false, { childrenStartSoon: "absent", startSoonDefault: "absent", ...o }, parent, g);
  const prom = (o: Partial<ConfigTags>, parent: Resolved | null, g = true) =>
    resolveModel(
      true,
      { startSoon: "absent", childrenStartSoon: "absent", startSoonDefault: "absent", ...o },
      parent,
      g,
    );

  it("defaults follow Defaults.START_SOON at the root", () => {
    expect(prom({}, null, true).startSoon).toBe(true);
    expect(prom({}, null, false).startSoon).toBe(false);
  });

  it("a context's childrenStartSoon is enforced through a transparent (INHERIT) context", () => {
    const outer = ctx({ childrenStartSoon: "false" }, null);
    const inner = ctx({}, outer);
    expect(inner.childrenStartSoon).toBe(false);
    expect(prom({}, inner).startSoon).toBe(false);
    expect(prom({ startSoon: "true" }, inner).startSoon).toBe(true);
  });

  it("a promise does not pass its parent's childrenStartSoon on unless told to (default null)", () => {
    const c = ctx({ childrenStartSoon: "false" }, null);
    const p = prom({}, c); // deferred by enforcement
    expect(p.startSoon).toBe(false);
    expect(p.childrenStartSoon).toBe(null);
    expect(prom({}, p).startSoon).toBe(true); // falls back to startSoonDefault (inherited: true)
  });

  it("startSoon INHERIT skips contexts up to the nearest promise", () => {
    const p = prom({ startSoon: "false" }, null, true);
    const c = ctx({ childrenStartSoon: "true" }, p);
    expect(prom({ startSoon: "INHERIT" }, c).startSoon).toBe(false);
    expect(prom({ startSoon: "INHERIT", startSoonDefault: "false" }, ctx({}, null)).startSoon).toBe(false);
  });

  it("PROMISING_DEFAULT ignores the parent chain", () => {
    const c = ctx({ startSoonDefault: "false" }, null, true);
    expect(prom({}, c, true).startSoon).toBe(false);
    expect(prom({ startSoonDefault: "PROMISING_DEFAULT" }, c, true).startSoon).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe("configuration resolution (SPEC 2.7), property-based", () => {
  it("random trees: a promise starts unconsumed exactly when the model resolves startSoon to true", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(nodeArb(3, 0), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (roots, global) => {
          report(await runForest(roots, [], [global], [null]));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("freezing: Defaults.START_SOON changing between levels never affects nodes created earlier", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(nodeArb(3, 0), { minLength: 1, maxLength: 2 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.array(fc.option(fc.boolean(), { nil: null }), { minLength: 1, maxLength: 5 }),
        async (roots, globals, flips) => {
          report(await runForest(roots, [], globals, flips));
        },
      ),
      { numRuns: 120 },
    );
  });

  it("freezing: a captured context keeps its resolved configuration when reused after Defaults change", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(contextTags, { minLength: 1, maxLength: 3 }),
        fc.array(promiseTags, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        async (contextChain, promiseOptions, before, after) => {
          const problems: string[] = [];
          try {
            promising.Defaults.START_SOON = before;
            // A chain of nested contexts, created (and resolved) under `before`.
            let parentResolved: Resolved | null = null;
            let innermost: promising.PromisingContext | null = null;
            for (const tags of contextChain) {
              const resolved = resolveModel(false, tags, parentResolved, before);
              const make = () => promising.context(toOptions(tags)).run((ctx) => ctx);
              innermost = innermost === null ? make() : innermost.run(make);
              parentResolved = resolved;
            }
            // A promise created now (under `before`) inside the innermost context, not consumed.
            const earlyTags = promiseOptions[0]!;
            const early = resolveModel(true, earlyTags, parentResolved, before);
            const earlyRan = { value: false };
            const earlyPromise = innermost!.run(
              () =>
                new promising.Promise(() => {
                  earlyRan.value = true;
                }, toOptions(earlyTags)),
            );

            promising.Defaults.START_SOON = after;
            await settle();
            if (earlyRan.value !== early.startSoon)
              problems.push(
                `early promise ${JSON.stringify(earlyTags)}: ran=${earlyRan.value}, model ${early.startSoon}`,
              );

            // Promises created later inside the reused context, under `after`.
            const late = promiseOptions.slice(1).map((tags) => {
              const ran = { value: false };
              const promise = innermost!.run(() =>
                promising.function(toOptions(tags))(async () => {
                  ran.value = true;
                })(),
              );
              return { tags, ran, promise, model: resolveModel(true, tags, parentResolved, after) };
            });
            await settle();
            for (const { tags, ran, model } of late) {
              if (ran.value !== model.startSoon)
                problems.push(
                  `late promise ${JSON.stringify(tags)}: ran=${ran.value}, model ${model.startSoon}`,
                );
            }
            await earlyPromise;
            await Promise.all(late.map((l) => l.promise));
          } finally {
            promising.Defaults.START_SOON = originalStartSoon;
          }
          if (problems.length > 0) throw new Error(problems.join("\n"));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("explicit parent: wins over the active context for inheritance (random trees with foster parents)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(nodeArb(3, 6), { minLength: 1, maxLength: 2 }),
        fc.array(fosterArb, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (roots, fosters, global) => {
          report(await runForest(roots, fosters, [global], [null]));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("explicit parent: the explicit parent's configuration decides even where the active context would decide otherwise", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(contextTags, { minLength: 1, maxLength: 2 }),
        fosterArb,
        promiseTags,
        fc.boolean(),
        async (activeChain, fosterDesc, childTags, global) => {
          const problems: string[] = [];
          try {
            // The model's answers under the active chain and under the explicit parent must differ,
            // otherwise this run cannot tell which one the library used.
            let activeResolved: Resolved | null = null;
            for (const tags of activeChain)
              activeResolved = resolveModel(false, tags, activeResolved, global);
            const fosterResolved = resolveModel(
              fosterDesc.kind !== "context",
              fosterDesc.options,
              null,
              global,
            );
            const viaActive = resolveModel(true, childTags, activeResolved, global).startSoon;
            const viaExplicit = resolveModel(true, childTags, fosterResolved, global).startSoon;
            fc.pre(viaActive !== viaExplicit);

            const harness = new Harness();
            harness.setGlobal(global);
            harness.createFosters([fosterDesc]);
            const foster = harness.fosters[0]!;

            const ran = { value: false };
            let child: promising.Promise<unknown> | null = null;
            const nest = (index: number): void => {
              if (index === activeChain.length) {
                child = new promising.Promise(
                  () => {
                    ran.value = true;
                  },
                  { ...toOptions(childTags), parent: foster.node },
                );
                return;
              }
              promising.context(toOptions(activeChain[index]!)).run(() => nest(index + 1));
            };
            nest(0);
            await settle();
            if (ran.value !== viaExplicit)
              problems.push(
                `child ${JSON.stringify(childTags)} of foster ${fosterDesc.kind} ${JSON.stringify(fosterDesc.options)}: ` +
                  `ran=${ran.value}, model with explicit parent ${viaExplicit}, with active context ${viaActive}`,
              );
            if (child!.getParentContext({ raiseIfNone: false }) !== foster.node)
              problems.push("getParentContext() is not the explicit parent");
            await child!;
            if (foster.promise !== null) await foster.promise;
            problems.push(...harness.problems);
          } finally {
            promising.Defaults.START_SOON = originalStartSoon;
          }
          if (problems.length > 0) throw new Error(problems.join("\n"));
        },
      ),
      { numRuns: 150 },
    );
  });
});
