export declare function fib(n: number): number;
