// The CPU-bound task of the "worker threads" benchmarks, shared by every system so that all
// of them run the same code: plain recursive Fibonacci (fib(30) = 832040).
export function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
