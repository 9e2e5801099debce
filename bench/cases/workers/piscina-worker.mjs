// Piscina's worker of the "worker threads" benchmarks: plain JavaScript, as a Piscina user
// would ship it. The default export is the trivial task; `fib` is selected with { name: "fib" }.
import { fib as fibonacci } from "./fib.mjs";

export default function plusOne(x) {
  return x + 1;
}

export function fib(n) {
  return fibonacci(n);
}
