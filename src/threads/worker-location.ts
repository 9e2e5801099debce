/**
 * Where the worker thread's code lives. From the built package, `dist/worker.js` next to the
 * bundle. From source (tests, tsx), a plain-JS bootstrap that registers tsx before it imports
 * the TypeScript entry, because Node 20 does not carry a loader into worker threads.
 */
export interface WorkerBootstrap {
  readonly url: URL;
  /** The module the bootstrap imports, when it is not the worker entry itself. */
  readonly entry: string | null;
}

export function workerBootstrap(): WorkerBootstrap {
  const here = import.meta.url;
  if (/\.[mc]?ts$/.test(here)) {
    return { url: new URL("./worker-bootstrap.mjs", here), entry: new URL("./worker-entry.ts", here).href };
  }
  return { url: new URL("./worker.js", here), entry: null };
}
