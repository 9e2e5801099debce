import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SyncUsageError, TimeoutError } from "../../src/core/errors.ts";
import {
  createSyncChannel,
  LaterAnswer,
  SyncChannelClient,
  SyncChannelError,
  type SyncChannelServeOptions,
  type SyncChannelServer,
  serveSyncChannel,
} from "../../src/threads/sync-channel.ts";

const fixture = new URL("./fixtures/sync-channel-worker.mjs", import.meta.url);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

class CustomError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CustomError";
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The requests the fixture sends, answered by the main thread. */
async function handler(request: any): Promise<unknown> {
  if ("double" in request) return 2 * request.double;
  if ("echo" in request) return request.echo;
  if ("delay" in request) {
    await sleep(request.delay);
    return request.value;
  }
  if ("reject" in request) {
    await sleep(1);
    throw new TypeError(request.reject);
  }
  if ("uncloneable" in request) return { callback: () => 1 };
  if ("never" in request) return new Promise(() => {});
  throw new Error(`unexpected request ${JSON.stringify(request)}`);
}

/** A handler that answers synchronously (no promise): the hot path. */
function syncHandler(request: any): unknown {
  if ("double" in request) return 2 * request.double;
  if ("throw" in request) {
    switch (request.throw) {
      case "type":
        throw new TypeError("bad type", { cause: new RangeError("inner") });
      case "custom":
        throw new CustomError("custom failure");
      case "library":
        throw new TimeoutError("library failure");
      case "aggregate":
        throw new AggregateError([new SyntaxError("one"), "two"], "several");
      case "props":
        throw Object.assign(new RangeError("with props"), { code: "E_CODE", callback: () => 1 });
      case "string":
        throw "just a string";
      case "function":
        throw function thrownFunction() {};
    }
  }
  return handler(request);
}

interface Harness {
  worker: Worker;
  server: SyncChannelServer;
  /** The channel's shared state, to poke at it. */
  state: Int32Array;
  /** Runs one fixture command in the worker and resolves with its reply. */
  run(command: Record<string, unknown>): Promise<any>;
}

const workers = new Set<Worker>();
const servers = new Set<SyncChannelServer>();

async function start(
  answer: (request: any) => unknown = handler,
  options?: SyncChannelServeOptions,
): Promise<Harness> {
  const channel = createSyncChannel();
  const worker = new Worker(fixture, {
    workerData: { channel: channel.workerEnd },
    transferList: channel.transferList,
  });
  workers.add(worker);
  const server = serveSyncChannel(channel.mainEnd, answer, options);
  servers.add(server);
  const failed = once(worker, "error").then(([error]) => {
    throw error;
  });
  failed.catch(() => {});
  const [ready] = await Promise.race([once(worker, "message"), failed]);
  expect(ready).toBe("ready");
  return {
    worker,
    server,
    state: new Int32Array(channel.mainEnd.state),
    async run(command) {
      const reply = once(worker, "message");
      worker.postMessage(command);
      const [value] = await Promise.race([reply, failed]);
      return value;
    },
  };
}

let baselineWorkers = 0;
const countWorkers = () => process.getActiveResourcesInfo().filter((name) => name === "Worker").length;

beforeAll(() => {
  baselineWorkers = countWorkers();
});

afterEach(async () => {
  for (const server of servers) server.close();
  servers.clear();
  await Promise.all([...workers].map((worker) => worker.terminate()));
  workers.clear();
});

afterAll(async () => {
  await sleep(10);
  expect(countWorkers()).toBe(baselineWorkers);
});

describe("sync channel", () => {
  it("round-trips a value", async () => {
    const { run } = await start();
    const reply = await run({ op: "request", message: { echo: { nested: [1, "two", new Map([[3, 4]])] } } });
    expect(reply).toEqual({ ok: { nested: [1, "two", new Map([[3, 4]])] }, ms: expect.any(Number) });
  });

  it("round-trips arrays, including ones shaped like the channel's own envelopes", async () => {
    const posts: unknown[] = [];
    const { run } = await start((request) => request, { onPost: (message) => posts.push(message) });
    for (const message of [[0, "like a post"], [1, "like a request"], [], [[0, 1]]]) {
      expect((await run({ op: "request", message })).ok).toEqual(message);
    }
    await run({ op: "post", message: [0, "posted"] });
    expect((await run({ op: "request", message: "plain" })).ok).toBe("plain");
    expect(posts).toEqual([[0, "posted"]]);
  });

  it("handles many sequential round trips (sync and async handlers)", async () => {
    const syncHarness = await start(syncHandler);
    expect(await syncHarness.run({ op: "many", count: 5_000 })).toEqual({ wrong: [] });
    const asyncHarness = await start(handler);
    expect(await asyncHarness.run({ op: "many", count: 2_000 })).toEqual({ wrong: [] });
  });

  it("awaits an async handler", async () => {
    const { run, server } = await start();
    const reply = await run({ op: "request", message: { delay: 50, value: "late but fine" } });
    expect(reply.ok).toBe("late but fine");
    expect(reply.ms).toBeGreaterThanOrEqual(40);
    expect(server.pending).toBe(0);
  });

  it("a LaterAnswer answers when settled, with a value or a thrown error; only its first settlement counts", async () => {
    const { run, server } = await start((request: any) => {
      if ("startThrows" in request)
        return new LaterAnswer(() => {
          throw new RangeError("start failed");
        });
      return new LaterAnswer((settle) => {
        setTimeout(() => {
          if ("fail" in request) settle(false, new TypeError(request.fail));
          else settle(true, request.value);
          settle(true, "ignored second settlement");
        }, 30);
      });
    });
    const value = await run({ op: "request", message: { value: { later: [1, 2] } } });
    expect(value.ok).toEqual({ later: [1, 2] });
    expect(value.ms).toBeGreaterThanOrEqual(20);
    const failed = await run({ op: "request", message: { fail: "later failure" } });
    expect(failed.error).toMatchObject({ className: "TypeError", message: "later failure" });
    const thrown = await run({ op: "request", message: { startThrows: true } });
    expect(thrown.error).toMatchObject({ className: "RangeError", message: "start failed" });
    expect(server.pending).toBe(0);
  });

  it("keeps waiting through wake-ups that carry no answer", async () => {
    const { run, state } = await start();
    const reply = run({ op: "request", message: { delay: 150, value: "patience" } });
    let wakeUps = 0;
    const poke = setInterval(() => {
      // What a spurious wake-up looks like to the worker.
      wakeUps += Atomics.notify(state, 0);
    }, 2);
    try {
      expect((await reply).ok).toBe("patience");
    } finally {
      clearInterval(poke);
    }
    expect(wakeUps).toBeGreaterThan(5);
  });

  it("rethrows an async rejection with its class and message", async () => {
    const { run } = await start();
    const { error } = await run({ op: "request", message: { reject: "rejected!" } });
    expect(error).toMatchObject({ className: "TypeError", isTypeError: true, message: "rejected!" });
    expect(error.stack).toContain("rejected!");
    expect(error.stack).toContain("handler");
  });

  it("preserves built-in error classes, causes and aggregated errors", async () => {
    const { run } = await start(syncHandler);
    const typeError = (await run({ op: "request", message: { throw: "type" } })).error;
    expect(typeError).toMatchObject({
      className: "TypeError",
      name: "TypeError",
      isTypeError: true,
      message: "bad type",
      cause: { className: "RangeError", isRangeError: true, message: "inner" },
      ownKeys: [],
    });
    expect(typeError.stack).toContain("syncHandler");

    const aggregate = (await run({ op: "request", message: { throw: "aggregate" } })).error;
    expect(aggregate).toMatchObject({
      className: "AggregateError",
      isAggregateError: true,
      message: "several",
      errors: [{ className: "SyntaxError", message: "one" }, { thrown: "two" }],
    });
  });

  it("preserves library error classes, custom names and cloneable own properties", async () => {
    const { run } = await start(syncHandler);
    const library = (await run({ op: "request", message: { throw: "library" } })).error;
    expect(library).toMatchObject({
      className: "TimeoutError",
      name: "TimeoutError",
      isTimeout: true,
      isPromisingError: true,
      message: "library failure",
    });

    const custom = (await run({ op: "request", message: { throw: "custom" } })).error;
    expect(custom).toMatchObject({ className: "Error", name: "CustomError", message: "custom failure" });

    // `callback` cannot be cloned: it is dropped, the rest of the error survives.
    const withProps = (await run({ op: "request", message: { throw: "props" } })).error;
    expect(withProps).toMatchObject({
      className: "RangeError",
      message: "with props",
      code: "E_CODE",
      ownKeys: ["code"],
    });
  });

  it("rethrows thrown non-error values, and explains the ones that cannot be cloned", async () => {
    const { run } = await start(syncHandler);
    expect((await run({ op: "request", message: { throw: "string" } })).error).toEqual({
      thrown: "just a string",
    });
    const fn = (await run({ op: "request", message: { throw: "function" } })).error;
    expect(fn).toMatchObject({ className: "SyncChannelCloneError", isClone: true });
    expect(fn.message).toMatch(/cannot be structured-cloned/);
    expect(fn.message).toContain("thrownFunction");
  });

  it("answers a value that cannot be cloned with a clear error instead of hanging", async () => {
    const { run } = await start();
    const reply = await run({ op: "request", message: { uncloneable: true } });
    expect(reply.error).toMatchObject({ className: "SyncChannelCloneError", isClone: true });
    expect(reply.error.message).toMatch(/value answering a sync-channel request cannot be sent/);
    expect(reply.error.message).toMatch(/could not be cloned/);
    // The channel still works afterwards.
    expect((await run({ op: "request", message: { double: 21 } })).ok).toBe(42);
  });

  it("times out with TimeoutError; the next request gets its own answer while the late one completes", async () => {
    const { run } = await start();
    const [timedOut, next] = await run({
      op: "sequence",
      steps: [
        { message: { delay: 150, value: "stale" }, timeoutMs: 30 },
        { message: { delay: 300, value: "fresh" } },
      ],
    });
    // The channel's own timeout is a TimeoutError subclass, told apart from a TimeoutError that is an answer.
    expect(timedOut.error).toMatchObject({ className: "SyncChannelTimeoutError", isTimeout: true });
    expect(timedOut.ms).toBeGreaterThanOrEqual(25);
    expect(timedOut.ms).toBeLessThan(140);
    expect(next.ok).toBe("fresh");
  });

  it("discards a late answer already queued when the next request starts", async () => {
    const { run } = await start();
    const [timedOut, , next, polled] = await run({
      op: "sequence",
      steps: [
        { message: { delay: 20, value: "stale" }, timeoutMs: 5 },
        { sleepMs: 100 },
        { message: { echo: "fresh" } },
        { message: { delay: 50, value: "never seen" }, timeoutMs: 0 },
      ],
    });
    expect(timedOut.error.isTimeout).toBe(true);
    expect(next.ok).toBe("fresh");
    expect(polled.error.isTimeout).toBe(true);
    // ...and the poll's late answer does not leak into the following request either.
    await sleep(80);
    expect((await run({ op: "request", message: { echo: "after" } })).ok).toBe("after");
  });

  it("rejects invalid timeouts without sending anything", async () => {
    const { run } = await start();
    const reply = await run({ op: "request", message: { echo: 1 }, timeoutMs: -1 });
    expect(reply.error).toMatchObject({
      className: "TypeError",
      message: expect.stringMatching(/timeoutMs/),
    });
  });

  it("fails a waiting request fast when the serving side closes, and later requests at once", async () => {
    const { run, server } = await start();
    const reply = run({
      op: "sequence",
      steps: [{ message: { never: true } }, { message: { echo: "after close" } }],
    });
    await sleep(100);
    expect(server.pending).toBe(1);
    const closedAt = performance.now();
    server.close();
    expect(server.closed).toBe(true);
    const [waiting, after] = await reply;
    expect(performance.now() - closedAt).toBeLessThan(500);
    expect(waiting.error).toMatchObject({ className: "SyncChannelClosedError", isClosed: true });
    expect(after.error).toMatchObject({ className: "SyncChannelClosedError", isClosed: true });
    expect(after.ms).toBeLessThan(50);
  });

  it("delivers an answer posted just before the serving side closes", async () => {
    let server: SyncChannelServer | undefined;
    const harness = await start((request) => {
      queueMicrotask(() => server!.close());
      return request;
    });
    server = harness.server;
    expect((await harness.run({ op: "request", message: { last: "words" } })).ok).toEqual({ last: "words" });
    expect(server.closed).toBe(true);
  });

  it("delivers posts in order with requests", async () => {
    const seen: unknown[] = [];
    const { run } = await start(
      (request) => {
        seen.push(["request", request]);
        return "ok";
      },
      { onPost: (message) => seen.push(["post", message]) },
    );
    await run({ op: "post", message: "first" });
    await run({ op: "request", message: "second" });
    await run({ op: "post", message: "third" });
    await run({ op: "request", message: "fourth" });
    expect(seen).toEqual([
      ["post", "first"],
      ["request", "second"],
      ["post", "third"],
      ["request", "fourth"],
    ]);
  });

  it("sees the channel closed when the worker closes its end or exits", async () => {
    const first = await start();
    await first.run({ op: "close" });
    await expect.poll(() => first.server.closed).toBe(true);
    expect((await first.run({ op: "request", message: { echo: 1 } })).error.isClosed).toBe(true);

    const second = await start();
    await second.worker.terminate();
    await expect.poll(() => second.server.closed).toBe(true);
  });

  it("refuses to block on the thread that serves the channel, and a second client on one end", () => {
    const channel = createSyncChannel();
    const server = serveSyncChannel(channel.mainEnd, (x) => x);
    servers.add(server);
    const client = new SyncChannelClient(channel.workerEnd);
    expect(() => client.request("deadlock?")).toThrow(SyncUsageError);
    client.post("posting does not block"); // allowed
    expect(() => new SyncChannelClient(channel.workerEnd)).toThrow(SyncChannelError);
    client.close();
  });

  it("does not keep the process alive when idle", () => {
    const script = `
      import { Worker } from "node:worker_threads";
      import { createSyncChannel, serveSyncChannel } from "./src/threads/sync-channel.ts";
      const channel = createSyncChannel();
      const worker = new Worker(new URL(${JSON.stringify(fixture.href)}), {
        workerData: { channel: channel.workerEnd },
        transferList: channel.transferList,
        execArgv: [], // not --input-type, which workers reject; the fixture registers tsx itself
      });
      // One answer given synchronously, one through a promise (which refs the port while pending).
      serveSyncChannel(channel.mainEnd, (x) => (x.async ? Promise.resolve(x.value) : x.value));
      worker.once("message", () => {
        worker.once("message", (reply) => {
          // The worker now idles on its event loop; only the channel could keep us alive.
          worker.unref();
          console.log(reply.map((step) => step.ok).join(" "));
        });
        worker.postMessage({
          op: "sequence",
          steps: [{ message: { value: "served" } }, { message: { async: true, value: "twice" } }],
        });
      });
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(child.stderr).toBe("");
    expect(child.stdout).toBe("served twice\n");
    expect(child.status).toBe(0);
  });
});
