/**
 * The main thread's side of one pool worker: it owns the promises the worker refers to by
 * id, creates the children the worker's function calls, and answers its blocking requests.
 */
import type { Worker } from "node:worker_threads";
import { callFromAnotherThread, runFromAnotherThread } from "../api/function.ts";
import { PromisingContext } from "../core/context.ts";
import { PromisingError } from "../core/errors.ts";
import { PromisingPromise, peekOutcome } from "../core/promise.ts";
import { RECURSIVELY } from "../core/sentinels.ts";
import type { TreeNode } from "../core/tree.ts";
import { decodeThrown, encodeThrown } from "./error-transfer.ts";
import { describeRef, type FunctionRef, lookupFunction } from "./function-registry.ts";
import { decodeOptions } from "./option-transfer.ts";
import {
  type AncestorInfo,
  type CollectAnswer,
  type CollectedNode,
  type HandleArg,
  isHandleArg,
  type LayerAnswer,
  type MainToWorker,
  type Outcome,
  ROOT_ID,
  type RunWait,
  type ThisTransfer,
  type WorkerPost,
  type WorkerRequest,
} from "./protocol.ts";
import { ShortIdNames, ShortIds } from "./short-ids.ts";
import { LaterAnswer } from "./sync-channel.ts";
import { runInTaskContext } from "./task-context.ts";

type CallableWrapper = ((...args: unknown[]) => unknown) & {
  with(options: Record<string, unknown>): (...args: unknown[]) => unknown;
};

interface Identity {
  wrapper: CallableWrapper | null;
  home: object | null;
}

/** A thenable settled from outside; unlike a native promise it never adopts a promising Promise. */
export class OutcomeThenable implements PromiseLike<unknown> {
  #outcome: { ok: boolean; value: unknown } | null = null;
  #callbacks: [(value: unknown) => unknown, (error: unknown) => unknown][] = [];

  then<R1, R2>(
    onFulfilled?: ((value: unknown) => R1) | null,
    onRejected?: ((error: unknown) => R2) | null,
  ): any {
    const fulfil = onFulfilled ?? ((value: unknown) => value);
    const reject =
      onRejected ??
      ((error: unknown) => {
        throw error;
      });
    if (this.#outcome === null) this.#callbacks.push([fulfil, reject]);
    else if (this.#outcome.ok) fulfil(this.#outcome.value);
    else reject(this.#outcome.value);
    return undefined;
  }

  settle(ok: boolean, value: unknown): void {
    if (this.#outcome !== null) return;
    this.#outcome = { ok, value };
    for (const [fulfil, reject] of this.#callbacks) (ok ? fulfil : reject)(value);
    this.#callbacks = [];
  }
}

export class WorkerHost {
  readonly #nodes = new Map<number, TreeNode>();
  readonly #pending = new Map<number, OutcomeThenable>();
  /** Ids the main thread hands out are negative; the worker's own are positive. */
  #nextId = -1;
  readonly #idsOf = new WeakMap<TreeNode, number>();
  readonly #taskRefs = new Map<number, number>();
  /**
   * Per id: the times it was sent to the worker outside a task's ancestry (as an argument or a
   * layer), plus one if the worker created it, not yet covered by a release from the worker.
   * An id is forgotten once this and its task count are both zero (see worker-node-refs.ts).
   */
  readonly #sent = new Map<number, number>();
  /** Short ids of the functions this worker is sent tasks of. */
  readonly refIds = new ShortIds<FunctionRef>();
  /** Functions the worker calls, by the short ids it gives them. */
  readonly #calledRefs = new ShortIdNames<FunctionRef>();
  /** What those functions are here, once found (the registry lookup compares names). */
  readonly #identities = new WeakMap<FunctionRef, Identity>();
  /**
   * The request the worker is blocked on, 0 when none. Any later message proves the worker is
   * running again (a timed-out request leaves its handler running here), so it resets this.
   */
  #blockedOn = 0;
  #blockedNode: TreeNode | null = null;
  #requests = 0;

  get blocked(): boolean {
    return this.#blockedOn !== 0;
  }

  /** The promise the worker is blocked on, while it is. */
  get blockedNode(): TreeNode | null {
    return this.#blockedOn !== 0 ? this.#blockedNode : null;
  }

  constructor(
    private readonly worker: Worker,
    private readonly onBlockedChange: () => void,
    private readonly onTaskDone: (taskId: number, outcome: Outcome, kept: boolean) => void,
    /** Called after each message posted to the worker (wakes it if it waits; see task-claims.ts). */
    private readonly onPosted: () => void = () => {},
    /** Called when the number of wrapped thenables the worker has yet to settle changes (see `unsettledWraps`). */
    private readonly onWrapsChanged: () => void = () => {},
  ) {}

  /**
   * Thenables a finished task returned that the worker has yet to settle: their outcome is still
   * to come from this worker, so the pool keeps it ref'd (the process waits for it).
   */
  get unsettledWraps(): number {
    return this.#pending.size;
  }

  /** The worker died or was terminated: what it was still to settle can never come. */
  failUnsettledWraps(error: (what: string) => Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const thenable of pending) thenable.settle(false, error("the promise a pool function returned"));
  }

  /** Registers a main-thread node under a fresh id the worker can use. */
  register(node: TreeNode): number {
    // The same node keeps its id, so the worker keeps one handle (and one cached value) per promise.
    const known = this.#idsOf.get(node);
    if (known !== undefined && this.#nodes.get(known) === node) return known;
    const id = this.#nextId--;
    this.#nodes.set(id, node);
    this.#idsOf.set(node, id);
    return id;
  }

  /**
   * Registers a task's node for as long as one of the worker's tasks needs it. Tasks in flight
   * together usually share ancestors (the parent of a fan-out): counting keeps their ids stable,
   * so the worker keeps one handle for each instead of building new ones per task.
   */
  acquire(node: TreeNode): number {
    const id = this.register(node);
    this.#taskRefs.set(id, (this.#taskRefs.get(id) ?? 0) + 1);
    return id;
  }

  /** Releases what `acquire` registered; a node is forgotten when no task needs it any more. */
  releaseAll(ids: number[]): void {
    for (const id of ids) {
      const count = (this.#taskRefs.get(id) ?? 1) - 1;
      if (count > 0) this.#taskRefs.set(id, count);
      else {
        this.#taskRefs.delete(id);
        if (!this.#sent.has(id)) this.#nodes.delete(id);
      }
    }
  }

  /** How many nodes the worker can currently name (for tests of their release). */
  get trackedNodes(): number {
    return this.#nodes.size;
  }

  /** The worker keeps its stand-in of `id` beyond the task that named it: keep the id until it releases it. */
  keptByWorker(id: number): void {
    this.#sent.set(id, (this.#sent.get(id) ?? 0) + 1);
  }

  /** Registers `node` for a message to the worker that names it outside a task's ancestry. */
  /** The id of `node`'s parent if this worker has been told it (else undefined: no place there). */
  #knownParentId(node: TreeNode): number | undefined {
    return node._parent === null ? undefined : this.#idsOf.get(node._parent);
  }

  #nameInMessage(node: TreeNode): number {
    const id = this.register(node);
    this.keptByWorker(id);
    return id;
  }

  /** Undoes the counting of encodeArgs for arguments whose message could not be posted. */
  unsend(encodedArgs: unknown[]): void {
    for (const arg of encodedArgs) {
      if (isHandleArg(arg)) this.#released(arg.__promisingHandle, 1);
    }
  }

  /** The worker covered `count` occurrences of `id`: forget it when nothing else needs it. */
  #released(id: number, count: number): void {
    const left = (this.#sent.get(id) ?? 0) - count;
    if (left > 0) {
      this.#sent.set(id, left);
      return;
    }
    this.#sent.delete(id);
    if (!this.#taskRefs.has(id)) this.#nodes.delete(id);
  }

  /** Acquires `node` and describes it for the worker's copy of the task's ancestry. */
  describe(node: TreeNode): AncestorInfo {
    return {
      id: this.acquire(node),
      isPromise: node instanceof PromisingPromise,
      namespace: node.namespace,
    };
  }

  node(id: number): TreeNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new PromisingError(`The worker referred to an unknown promise (#${id}).`);
    return node;
  }

  /** Decodes an outcome reported by the worker into what the task's thenable settles with. */
  decode(outcome: Outcome): { ok: boolean; value: unknown } {
    if ("layer" in outcome) return { ok: true, value: this.node(outcome.layer) };
    if (outcome.ok) return { ok: true, value: outcome.value };
    return { ok: false, value: decodeThrown(outcome.error) };
  }

  /** Encodes main-thread arguments: promising Promises at the top level cross as handles. */
  encodeArgs(args: unknown[]): unknown[] {
    return args.map((arg) =>
      arg instanceof PromisingPromise
        ? ({
            __promisingHandle: this.#nameInMessage(arg),
            namespace: arg.namespace,
            parentId: this.#knownParentId(arg),
          } satisfies HandleArg)
        : arg,
    );
  }

  onPost = (message: unknown): void => {
    this.#setBlocked(0);
    try {
      this.#handlePost(message as WorkerPost);
    } catch (error) {
      // A late or malformed message must never crash the main thread.
      process.emitWarning(
        `promising-ts: a pool worker sent a message that could not be handled: ${String(error)}`,
      );
    }
  };

  #handlePost(post: WorkerPost): void {
    switch (post.op) {
      case "call":
        this.#adopt(
          post.id,
          this.#call(
            this.#callRef(post.refId, post.ref),
            post.options === undefined ? NO_OPTIONS : decodeOptions(post.options),
            post.self ?? NO_THIS,
            post.args,
            post.parentId === ROOT_ID ? null : this.node(post.parentId),
            this.#nodes.get(post.contextId) ?? null,
            post.run,
          ),
        );
        return;
      case "context":
        this.#adopt(
          post.id,
          new PromisingContext({
            ...decodeOptions(post.options),
            parent: (post.parentId === ROOT_ID ? null : this.node(post.parentId)) as never,
          }),
        );
        return;
      case "wrap": {
        const thenable = new OutcomeThenable();
        this.#pending.set(post.id, thenable);
        this.#nodes.set(
          post.id,
          new PromisingPromise(thenable, { parent: this.node(post.parentId) as never }),
        );
        this.#sent.set(post.id, 1);
        this.onWrapsChanged();
        return;
      }
      case "resolve": {
        const decoded = this.decode(post.outcome);
        const thenable = this.#pending.get(post.id);
        this.#pending.delete(post.id);
        thenable?.settle(decoded.ok, decoded.value);
        this.onWrapsChanged();
        return;
      }
      case "done":
        this.onTaskDone(post.taskId, post.outcome, post.kept === true);
        return;
      case "watch":
        this.#watch(post.id);
        return;
      case "observe": {
        // Observed in the worker: no longer reported as unobserved here.
        const node = this.#nodes.get(post.id);
        if (node instanceof PromisingPromise && node.done()) node.error();
        return;
      }
      case "release":
        for (let index = 0; index < post.ids.length; index++) {
          this.#released(post.ids[index]!, post.counts[index]!);
        }
        return;
    }
  }

  onRequest = (message: unknown): unknown => {
    const request = message as WorkerRequest;
    if (request.op === "peek") {
      // Answered at once, so the worker does not count as blocked.
      const peeked = this.#nodes.get(request.id);
      if (request.observe && peeked instanceof PromisingPromise && peeked.done()) peeked.error();
      return this.#outcomeToSend(request.id);
    }
    if (request.op === "collect") return this.#collect(request);
    const node = this.node(request.id) as PromisingPromise<unknown>;
    const token = ++this.#requests;
    this.#blockedNode = node;
    this.#setBlocked(token);
    if (request.op === "sync" && request.mode === "full") {
      // The common case answers from the settlement itself (no promise chain in between).
      return new LaterAnswer((settle) =>
        node._whenSettled(() => {
          if (this.#blockedOn === token) this.#setBlocked(0);
          let value: unknown;
          try {
            value = node.result();
          } catch (error) {
            settle(false, error);
            return;
          }
          settle(true, value);
        }),
      );
    }
    return this.#answerLater(request, node, token);
  };

  async #answerLater(
    request: WorkerRequest,
    node: PromisingPromise<unknown>,
    token: number,
  ): Promise<unknown> {
    try {
      if (request.op === "awaitChildren") {
        await node.awaitChildren({ recursively: request.recursively });
        return request.outcomesOf.map((id) => this.#outcomeToSend(id));
      }
      const layer = await node.unpackOnce();
      if ("value" in layer) return { value: layer.value } satisfies LayerAnswer;
      return {
        handle: this.#nameInMessage(layer.promise),
        namespace: layer.promise.namespace,
        parentId: this.#knownParentId(layer.promise),
      } satisfies LayerAnswer;
    } finally {
      if (this.#blockedOn === token) this.#setBlocked(0);
    }
  }

  /** `collectRemainingChildren()` on the main thread for the worker (answered at once). */
  #collect(request: Extract<WorkerRequest, { op: "collect" }>): CollectAnswer {
    const options = {
      recursively: request.recursively,
      excludeNonAwaitable: request.excludeNonAwaitable,
      excludeDone: request.excludeDone,
    };
    const nodes: CollectedNode[] = [];
    const listed = new Set<TreeNode>();
    for (const id of request.ids) {
      const node = this.#nodes.get(id) as PromisingContext | undefined;
      if (node === undefined) continue;
      // Parents come before their children, so each new stand-in there finds its parent.
      for (const child of node.collectRemainingChildren(options)) {
        if (listed.has(child)) continue;
        listed.add(child);
        nodes.push({
          id: this.#nameInMessage(child),
          namespace: child.namespace,
          parentId: this.#knownParentId(child),
          isPromise: child instanceof PromisingPromise,
        });
      }
    }
    return { nodes, outcomes: request.outcomesOf.map((id) => this.#outcomeToSend(id)) };
  }

  /** The outcome of settled promise `id`, if it can cross to the worker (see ChildOutcomes). */
  #outcomeToSend(id: number): Outcome | null {
    const node = this.#nodes.get(id);
    // Peeked, not observed: awaiting children does not count as observing their failures.
    const outcome = node instanceof PromisingPromise ? peekOutcome(node) : null;
    if (outcome === null) return null;
    if (!outcome.ok) return { ok: false, error: encodeThrown(outcome.value) };
    try {
      // Checked here: one value that cannot cross must not fail the whole answer.
      structuredClone(outcome.value);
    } catch {
      return null;
    }
    return { ok: true, value: outcome.value };
  }

  #setBlocked(token: number): void {
    if (this.#blockedOn === token) return;
    this.#blockedOn = token;
    this.onBlockedChange();
  }

  /** The function a worker's short id names (it sent the full ref with its first call). */
  #callRef(refId: number, ref: FunctionRef | undefined): FunctionRef {
    const known = this.#calledRefs.resolve(refId, ref);
    if (known === undefined) throw new PromisingError(`The worker called an unknown function (#${refId}).`);
    return known;
  }

  #call(
    ref: FunctionRef,
    options: Record<string, unknown>,
    self: ThisTransfer,
    args: unknown[],
    parent: TreeNode | null,
    /** The task that made the call, for its async context when `parent` is under no task. */
    contextNode: TreeNode | null,
    /** Set for `fn.run()`: the node returned stands for the whole run (see WorkerPost `call`). */
    run: RunWait | undefined,
  ): TreeNode {
    let identity = this.#identities.get(ref);
    if (identity === undefined) {
      identity = lookupFunction(ref) as Identity | undefined;
      if (identity?.wrapper != null) this.#identities.set(ref, identity);
    }
    const wrapper = identity?.wrapper;
    if (wrapper == null) {
      return new PromisingPromise({
        prefilledError: new PromisingError(
          `A worker called ${describeRef(ref)}, which the main thread has not loaded. ` +
            "Promising functions called inside pool workers must be defined at the top level of a module " +
            "that the main thread imports too.",
        ),
        parent: parent as never,
      });
    }
    if (self.mode !== "none" && self.className !== undefined) {
      // The main thread has no synchronous way to find the subclass in the module it was
      // loaded from; running the declaring class's code instead would silently skip overrides.
      return new PromisingPromise({
        prefilledError: new PromisingError(
          `A worker called ${describeRef(ref)} on ${self.mode === "class" ? "the class" : "an instance of"} ` +
            `${self.className}, a subclass of the class that declares it. Calls made inside a pool worker take ` +
            "their receiver along only when it is the declaring class or one of its instances; call the method " +
            "on the main thread, or pass the data as arguments.",
        ),
        parent: parent as never,
      });
    }
    const thisArg = decodeThis(self, identity!.home);
    const decodedArgs = this.#decodeArgs(args);
    // Created (and, if eager, started) in the async context of the pool task that made the call.
    try {
      if (run !== undefined) {
        const mode = run === "none" ? false : run === "direct" ? true : RECURSIVELY;
        const running = runInTaskContext(parent, contextNode, () =>
          runFromAnotherThread(wrapper, options, thisArg, decodedArgs, mode),
        );
        // A promise for the worker to watch (the root itself is a root of this thread's tree).
        return new PromisingPromise(running, { parent: null, startSoon: true });
      }
      return runInTaskContext(
        parent,
        contextNode,
        () => callFromAnotherThread(wrapper, options, parent, thisArg, decodedArgs) as TreeNode,
      );
    } catch (error) {
      // Options the main thread refuses: the worker's promise rejects with the reason (no hang).
      return new PromisingPromise({ prefilledError: error, parent: parent as never });
    }
  }

  #decodeArgs(args: unknown[]): unknown[] {
    return args.map((arg) => (isHandleArg(arg) ? this.node(arg.__promisingHandle) : arg));
  }

  /** Records a node the worker created under the worker's id. */
  #adopt(id: number, node: TreeNode): void {
    this.#nodes.set(id, node);
    this.#idsOf.set(node, id);
    this.#sent.set(id, 1);
  }

  #watch(id: number): void {
    const node = this.node(id) as PromisingPromise<unknown>;
    node.then(
      (value) => this.#send({ type: "settled", id, outcome: { ok: true, value } }),
      (error: unknown) =>
        this.#send({ type: "settled", id, outcome: { ok: false, error: encodeThrown(error) } }),
    );
  }

  #send(message: MainToWorker): void {
    try {
      this.worker.postMessage(message);
    } catch (error) {
      if (message.type === "settled" && "ok" in message.outcome && message.outcome.ok) {
        this.worker.postMessage({ ...message, outcome: { ok: false, error: encodeThrown(error) } });
      }
    }
    this.onPosted();
  }
}

const NO_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({});
const NO_THIS: ThisTransfer = Object.freeze({ mode: "none" });

function decodeThis(self: ThisTransfer, home: object | null): unknown {
  if (self.mode === "none") return undefined;
  if (self.mode === "class") return home;
  const value = self.value;
  if (home !== null && value !== null && typeof value === "object" && typeof home !== "function") {
    Object.setPrototypeOf(value, home);
  }
  return value;
}
