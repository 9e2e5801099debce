// Some systems fail outside any promise the harness holds: Effect, for one,
// resumes a joining parent synchronously from the scheduler, so a too-deep
// chain throws "Maximum call stack size exceeded" as an uncaught exception.
// Turning such crashes into a rejection lets the case report them as results.

let rejectCrash: (reason: unknown) => void = () => {};
const crashed = new Promise<never>((_, reject) => {
  rejectCrash = reject;
});
crashed.catch(() => {}); // observed through orCrash(); never an unhandled rejection itself

let installed = false;

/** Routes uncaught exceptions and unhandled rejections of this process into orCrash(). */
export function catchCrashes(): void {
  if (installed) return;
  installed = true;
  process.on("uncaughtException", (error) => rejectCrash(error));
  process.on("unhandledRejection", (reason) => rejectCrash(reason));
}

/** Settles like `promise`, or rejects with the first crash of the process, whichever comes first. */
export function orCrash<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, crashed]);
}
