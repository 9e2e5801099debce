/**
 * Configuration options crossing threads: sentinels travel by name, pools by the name the
 * function registry gives them (a pool created at a module's top level exists in every
 * thread that loads the module), plain values as they are.
 */
import { PromisingError } from "../core/errors.ts";
import {
  ASYNCIO_DEFAULT,
  INHERIT,
  PROMISING_DEFAULT,
  RECURSIVELY,
  Sentinel,
  UNCHANGED,
} from "../core/sentinels.ts";
import { type FunctionRef, lookupFunction } from "./function-registry.ts";

const SENTINELS = new Map<string, Sentinel>(
  [UNCHANGED, INHERIT, PROMISING_DEFAULT, ASYNCIO_DEFAULT, RECURSIVELY].map((s) => [s.name, s]),
);

type Encoded = { readonly sentinel: string } | { readonly pool: FunctionRef } | { readonly value: unknown };

/**
 * Options that keep their meaning in another thread. `useThreadPool` matters only to calls (a
 * context has none): a call made in a worker runs where its options, overrides included, say.
 */
export const CROSSING_OPTIONS = [
  "namespace",
  "startSoon",
  "childrenStartSoon",
  "startSoonDefault",
  "threadPool",
  "useThreadPool",
];

export function encodeOptions(
  options: Readonly<Record<string, unknown>>,
  poolRef: (pool: object) => FunctionRef | Sentinel | null,
): Record<string, Encoded> {
  const encoded: Record<string, Encoded> = {};
  for (const key of CROSSING_OPTIONS) {
    const value = options[key];
    if (value === undefined) continue;
    if (value instanceof Sentinel) encoded[key] = { sentinel: value.name };
    else if (key === "threadPool") {
      const ref = poolRef(value as object);
      if (ref === null) {
        throw new PromisingError(
          "A thread pool passed as threadPool inside a pool worker must be created at the top level of a module, " +
            "so that the main thread has the same pool; or use PROMISING_DEFAULT / INHERIT.",
        );
      }
      encoded[key] = ref instanceof Sentinel ? { sentinel: ref.name } : { pool: ref };
    } else encoded[key] = { value };
  }
  return encoded;
}

export function decodeOptions(encoded: Readonly<Record<string, Encoded>>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(encoded)) {
    if ("sentinel" in item) options[key] = SENTINELS.get(item.sentinel);
    else if ("pool" in item) {
      const pool = lookupFunction(item.pool);
      if (pool === undefined) {
        throw new PromisingError(
          `The thread pool a worker asked for (${item.pool.url}) is not loaded in the main thread.`,
        );
      }
      options[key] = pool;
    } else options[key] = item.value;
  }
  return options;
}
