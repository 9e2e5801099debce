/**
 * `npm run demo`: the Python README's first examples, run for real, then the promise tree
 * they built. (The full pipeline demo with worker threads comes with the thread pool.)
 */
import * as promising from "../src/index.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const fetchData = promising.function(async function fetchData(url: string) {
  await sleep(10);
  return { url, status: "ok" };
});

const childTask = promising.function(async function childTask(name: string) {
  await sleep(5 + name.length);
  return `done: ${name}`;
});

const parentTask = promising.function(async function parentTask() {
  const a = childTask("a");
  const b = childTask("bb");
  // Grandchildren: the tree keeps growing below the children.
  const nested = promising.function(async function nested() {
    return [await childTask("nested-1"), await childTask("nested-2")];
  })();
  await promising.awaitChildren(); // waits for the whole subtree
  return { a: a.result(), b: b.result(), nested: nested.result() };
});

const lazyFetch = promising.function({ startSoon: false }, async function lazyFetch(url: string) {
  return fetchData(url);
});

/** Prints the tree below `node`, using the library's own view of the hierarchy. */
function printTree(node: promising.PromisingContext, indent = ""): void {
  const children = node.collectRemainingChildren({
    recursively: false,
    excludeDone: false,
    excludeNonAwaitable: false,
  });
  for (const child of children) {
    console.log(`${indent}└─ ${child}`);
    printTree(child, `${indent}   `);
  }
}

const main = promising.function(async function main() {
  const promise = fetchData("https://example.com");
  console.log("fetchData returned", String(promise));
  const [first, second] = [await promise, await promise];
  console.log("cached result, same object twice:", first === second, first);

  const parent = parentTask();
  console.log("parentTask ->", await parent);

  const lazy = lazyFetch("https://example.org");
  await sleep(5);
  console.log("deferred promise before await:", String(lazy));
  console.log("after await:", await lazy);

  const kept = [promise, parent, lazy];
  console.log("\nPromise tree (kept references keep finished branches visible):");
  console.log(String(promising.getActivePromise()));
  printTree(promising.getActivePromise());
  return kept.length;
});

await main.run();
